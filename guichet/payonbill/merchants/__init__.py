"""Merchants (éditeurs), API keys, payments, refunds and signed notifications."""
