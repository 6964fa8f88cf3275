"""Demo only: a merchant shop and a 3DS Server / Directory Server simulator."""
