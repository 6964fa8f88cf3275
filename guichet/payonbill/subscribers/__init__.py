"""Operator subscribers: contracts, mailboxes, sign-in, personalisation, bills, customer space."""
