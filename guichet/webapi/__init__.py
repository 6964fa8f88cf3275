"""Kernel: the frame the JSON APIs (merchant, operator, issuer) share; each keeps what is its own."""
