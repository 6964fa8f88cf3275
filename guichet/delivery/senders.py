"""SMS and email senders behind one narrow interface, chosen by configuration."""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

from django.conf import settings

from guichet.core.egress import EgressFailed, EgressRefused, egress_post

SMS_TIMEOUT_S = 5.0
SMS_MAX_ANSWER = 4096  # the answer's status is all that counts
SMTP_TIMEOUT_S = 10.0


class DeliveryError(Exception):
    """The message was not accepted; it will be tried again. The text never holds the content."""


class PermanentDeliveryError(DeliveryError):
    """The message can never be delivered (e.g. the egress policy refuses its destination): given up now."""


class Sender(Protocol):
    def send(self, *, message_id: str, to: str, subject: str, body: str) -> None:
        """Hand the message over, or raise DeliveryError."""


class HttpSmsGateway:
    """docs/operating.md, SMS gateway: POST {"id", "to", "text"} as JSON; a 2xx within 5 s is accepted."""

    def __init__(self, url: str, token: str = "") -> None:
        self.url = url
        self.token = token

    def send(self, *, message_id: str, to: str, subject: str, body: str) -> None:  # noqa: ARG002 (an SMS has no subject)
        data = json.dumps({"id": message_id, "to": to, "text": body}).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            status, _answer = egress_post(
                url=self.url, body=data, headers=headers, timeout=SMS_TIMEOUT_S, max_answer=SMS_MAX_ANSWER
            )
        except EgressRefused as exc:
            raise PermanentDeliveryError(f"SMS gateway refused: {exc}") from None
        except EgressFailed as exc:
            raise DeliveryError(f"SMS gateway unreachable: {exc}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"SMS gateway answered {status}")


class SmtpSender:
    """smtp://host:port, smtp+starttls://user:pass@host:port, smtps://user:pass@host:port."""

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or {"smtps": 465, "smtp+starttls": 587}.get(parts.scheme, 25)
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.sender = sender

    def send(self, *, message_id: str, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        # A stable Message-ID lets a receiving system spot a redelivery after a lost answer.
        message["Message-ID"] = make_msgid(idstring=message_id, domain="guichet")
        message.set_content(body)
        try:
            if self.scheme == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=SMTP_TIMEOUT_S, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S)
            with client:
                if self.scheme == "smtp+starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password)
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}") from None


class DevInbox:
    """Demo and tests without a gateway: the message stays readable at /dev/inbox."""

    def send(self, *, message_id: str, to: str, subject: str, body: str) -> None:  # noqa: ARG002 (the Sender interface)
        return None


def sms_sender() -> Sender:
    config = settings.GUICHET
    return HttpSmsGateway(config.sms_url, config.sms_token) if config.sms_url else DevInbox()


def email_sender() -> Sender:
    config = settings.GUICHET
    return SmtpSender(config.email_url, config.email_from) if config.email_url else DevInbox()
