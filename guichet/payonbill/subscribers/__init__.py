"""Operator subscribers: contracts, mailboxes, sign-in, personalisation, bills, customer space.

importing (the subscriber file), rollout (who has the individual sign-in; the legacy line path),
signin (credentials and lockout), account (personalisation, password change and reset, sign out
everywhere), billing (charges and refunds on the bill); sessions (who is signed in); logins and
passwords (their rules); signin_views and account_views (the pages before and inside the customer space).
"""
