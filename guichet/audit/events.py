"""Every audit event name in one place (`area:subject:action`), so that a name cannot drift and the
back-office filter, the docs and the code list the same ones. The values are the stored strings."""

from __future__ import annotations

from enum import StrEnum


class Event(StrEnum):
    # acs-challenge
    ACS_CHALLENGE_CODE_SENT = "acs-challenge:code:sent"
    ACS_CHALLENGE_CODE_VERIFY = "acs-challenge:code:verify"
    # acs
    ACS_AREQ_ANSWERED = "acs:areq:answered"
    ACS_AREQ_REFUSED = "acs:areq:refused"
    ACS_AV_VERIFY = "acs:av:verify"
    ACS_CHALLENGE_CANCELLED = "acs:challenge:cancelled"
    ACS_CHALLENGE_EPIN_ENTERED = "acs:challenge:epin_entered"
    ACS_CHALLENGE_FORM_REFUSED = "acs:challenge:form_refused"
    ACS_CHALLENGE_RESULT = "acs:challenge:result"
    ACS_CHALLENGE_STARTED = "acs:challenge:started"
    ACS_CHALLENGE_VERIFY = "acs:challenge:verify"
    ACS_CREQ_REFUSED = "acs:creq:refused"
    ACS_CRES_POSTED = "acs:cres:posted"
    ACS_RRES_RECEIVED = "acs:rres:received"
    ACS_SMS_CAPPED = "acs:sms:capped"
    # backoffice
    BACKOFFICE_STAFF_CREATED = "backoffice:staff:created"
    BACKOFFICE_STAFF_SIGNIN = "backoffice:staff:signin"
    BACKOFFICE_STAFF_TOTP_ISSUED = "backoffice:staff:totp_issued"
    # cards
    CARDS_EPIN_CHANGED = "cards:epin:changed"
    CARDS_EPIN_SET = "cards:epin:set"
    CARDS_EPIN_VERIFY = "cards:epin:verify"
    CARDS_FILE_IMPORT = "cards:file:import"
    # checkout
    CHECKOUT_PAYMENT_CANCELLED = "checkout:payment:cancelled"
    CHECKOUT_PAYMENT_CHARGED = "checkout:payment:charged"
    CHECKOUT_PAYMENT_REFUSED = "checkout:payment:refused"
    CHECKOUT_PAYMENT_SIGNIN_REQUIRED = "checkout:payment:signin_required"
    CHECKOUT_STATEMENT_EXPORTED = "checkout:statement:exported"
    # credential
    CREDENTIAL_HOLDER_BLOCKED = "credential:holder:blocked"
    # enrollment
    ENROLLMENT_CODE_RESEND = "enrollment:code:resend"
    ENROLLMENT_CODE_SENT = "enrollment:code:sent"
    ENROLLMENT_CODE_VERIFY = "enrollment:code:verify"
    ENROLLMENT_EMAIL_LOOKUP = "enrollment:email:lookup"
    ENROLLMENT_SESSION_EXPIRED = "enrollment:session:expired"
    ENROLLMENT_SESSION_LOGOUT = "enrollment:session:logout"
    # merchants
    MERCHANTS_KEY_CREATED = "merchants:key:created"
    MERCHANTS_KEY_REJECTED = "merchants:key:rejected"
    MERCHANTS_KEY_REVOKED = "merchants:key:revoked"
    MERCHANTS_KEY_THROTTLED = "merchants:key:throttled"
    MERCHANTS_MERCHANT_CREATED = "merchants:merchant:created"
    MERCHANTS_PAYMENT_CANCELLED = "merchants:payment:cancelled"
    MERCHANTS_PAYMENT_CREATED = "merchants:payment:created"
    MERCHANTS_PAYMENT_EXPIRED = "merchants:payment:expired"
    MERCHANTS_PAYMENT_REFUSED = "merchants:payment:refused"
    MERCHANTS_PAYMENT_SUCCEEDED = "merchants:payment:succeeded"
    MERCHANTS_REFUND_CREATED = "merchants:refund:created"
    MERCHANTS_SECRET_ROTATED = "merchants:secret:rotated"
    # subscribers-reset
    SUBSCRIBERS_RESET_CODE_SENT = "subscribers-reset:code:sent"
    SUBSCRIBERS_RESET_CODE_VERIFY = "subscribers-reset:code:verify"
    # subscribers
    SUBSCRIBERS_BILL_CHARGED = "subscribers:bill:charged"
    SUBSCRIBERS_BILL_CLOSED = "subscribers:bill:closed"
    SUBSCRIBERS_BILL_EXPORTED = "subscribers:bill:exported"
    SUBSCRIBERS_BILL_REFUNDED = "subscribers:bill:refunded"
    SUBSCRIBERS_FILE_IMPORT = "subscribers:file:import"
    SUBSCRIBERS_OPERATOR_KEY_CREATED = "subscribers:operator_key:created"
    SUBSCRIBERS_OPERATOR_KEY_REJECTED = "subscribers:operator_key:rejected"
    SUBSCRIBERS_OPERATOR_KEY_REVOKED = "subscribers:operator_key:revoked"
    SUBSCRIBERS_MAILBOX_PERSONALISED = "subscribers:mailbox:personalised"
    SUBSCRIBERS_PASSWORD_CHANGED = "subscribers:password:changed"
    SUBSCRIBERS_PASSWORD_RESET = "subscribers:password:reset"
    SUBSCRIBERS_PASSWORD_VERIFY = "subscribers:password:verify"
    SUBSCRIBERS_PAYONBILL_ALLOWED = "subscribers:payonbill:allowed"
    SUBSCRIBERS_PAYONBILL_BLOCKED = "subscribers:payonbill:blocked"
    SUBSCRIBERS_RESET_REQUEST = "subscribers:reset:request"
    SUBSCRIBERS_SESSION_ENDED = "subscribers:session:ended"
    SUBSCRIBERS_SESSION_SIGNIN = "subscribers:session:signin"
    SUBSCRIBERS_SESSION_SIGNOUT = "subscribers:session:signout"
    SUBSCRIBERS_SESSION_SIGNOUT_EVERYWHERE = "subscribers:session:signout_everywhere"
    SUBSCRIBERS_SIGNIN_ATTEMPT = "subscribers:signin:attempt"
