"""EMV 3-D Secure 2 Access Control Server (ACS)."""
