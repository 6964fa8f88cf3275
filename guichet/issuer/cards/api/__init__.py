"""The issuer API (/api/issuer/v1/): the card lifecycle for the issuer's systems (docs/issuers.md)."""
