"""Writing messages to the outbox and reading them back."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from guichet.core import clock, crypto
from guichet.delivery.models import OutboxMessage
from guichet.delivery.wakeup import wake

DEFAULT_VALIDITY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Content:
    subject: str
    body: str


def _render(template: str, suffix: str, language: str, context: dict[str, Any]) -> str:
    with translation.override(language):
        name = f"messages/{language}/{template}.{suffix}"
        return render_to_string(name, context, using="messages").strip()


def _store(
    *, channel: str, to: str, template: str, language: str, content: Content, valid_for: dt.timedelta
) -> OutboxMessage:
    now = clock.now()
    message_id = uuid.uuid4()
    payload = json.dumps({"subject": content.subject, "body": content.body})
    message = OutboxMessage.objects.create(
        message_id=message_id,
        channel=channel,
        recipient=to,
        template=template,
        language=language,
        content=crypto.encrypt(f"outbox:{message_id}", payload),
        created_at=now,
        next_attempt_at=now,
        give_up_at=now + valid_for,
    )
    # Wake the in-process deliverer once the event that caused the message is committed.
    transaction.on_commit(wake)
    return message


def outbox_enqueue_sms(
    *,
    to: str,
    template: str,
    language: str,
    context: dict[str, Any],
    valid_for: dt.timedelta = DEFAULT_VALIDITY,
) -> OutboxMessage:
    text = _render(template, "sms.txt", language, context)
    return _store(
        channel=OutboxMessage.Channel.SMS,
        to=to,
        template=template,
        language=language,
        content=Content(subject="", body=text),
        valid_for=valid_for,
    )


def outbox_enqueue_email(
    *,
    to: str,
    template: str,
    language: str,
    context: dict[str, Any],
    valid_for: dt.timedelta = DEFAULT_VALIDITY,
) -> OutboxMessage:
    subject = " ".join(_render(template, "subject.txt", language, context).split())
    body = _render(template, "email.txt", language, context)
    return _store(
        channel=OutboxMessage.Channel.EMAIL,
        to=to,
        template=template,
        language=language,
        content=Content(subject=subject, body=body),
        valid_for=valid_for,
    )


def outbox_enqueue_http(
    *,
    kind: str,
    key: str,
    url: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    valid_for: dt.timedelta = DEFAULT_VALIDITY,
) -> OutboxMessage:
    """POST `body` to `url` once the current transaction commits, retried until accepted or too old.

    `kind` must be registered with `guichet.delivery.http.register_http_kind`; messages sharing `key`
    are posted one at a time, in order.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("only http and https URLs can be posted to")
    if len(key) > 254:
        raise ValueError("ordering key too long")
    payload = json.dumps(
        {"url": url, "headers": headers or {}, "body": base64.b64encode(body).decode("ascii")}
    )
    return _store(
        channel=OutboxMessage.Channel.HTTP,
        to=key,
        template=kind,
        language="",
        content=Content(subject="", body=payload),
        valid_for=valid_for,
    )


@dataclass(frozen=True)
class HttpContent:
    url: str
    headers: dict[str, str]
    body: bytes


def outbox_http_content(message: OutboxMessage) -> HttpContent:
    data = json.loads(outbox_content(message).body)
    return HttpContent(url=data["url"], headers=data["headers"], body=base64.b64decode(data["body"]))


def outbox_content(message: OutboxMessage) -> Content:
    data = json.loads(crypto.decrypt(f"outbox:{message.message_id}", message.content))
    return Content(subject=data["subject"], body=data["body"])
