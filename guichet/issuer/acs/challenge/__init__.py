"""The browser challenge: CReq, the ePin and SMS pages in the merchant's iframe, final CRes, RReq."""
