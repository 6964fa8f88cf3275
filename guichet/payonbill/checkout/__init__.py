"""The hosted pay-on-bill checkout pages (seed 000)."""
