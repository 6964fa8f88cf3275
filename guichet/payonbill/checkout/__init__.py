"""The hosted pay-on-bill checkout pages (docs/operators.md, Pay-on-bill checkout)."""
