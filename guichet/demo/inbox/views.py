"""Demo only: every SMS and email as its recipient would read it, and the HTTP posts (RReqs, merchant
notifications) as their receiver gets them, one tab per kind."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import pgettext_lazy

from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_content, outbox_http_content

SHOWN = 100
Channel = OutboxMessage.Channel
TABS = (
    ("", pgettext_lazy("dev inbox", "All")),
    (Channel.SMS, pgettext_lazy("dev inbox", "SMS")),
    (Channel.EMAIL, pgettext_lazy("dev inbox", "E-mails")),
    (Channel.HTTP, pgettext_lazy("dev inbox", "HTTP requests")),
)


def _row(message: OutboxMessage) -> dict[str, Any]:
    if message.channel != Channel.HTTP:
        content = outbox_content(message)
        return {"message": message, "to": message.recipient, "subject": content.subject, "body": content.body}
    post = outbox_http_content(message)
    try:
        body = json.dumps(json.loads(post.body), indent=2, ensure_ascii=False)
    except ValueError:
        body = post.body.decode("utf-8", "replace")
    return {"message": message, "to": post.url, "subject": "", "body": body}


def inbox(request: HttpRequest) -> HttpResponse:
    if not settings.GUICHET.demo:
        raise Http404
    channel = request.GET.get("channel", "")
    if channel not in Channel.values:
        channel = ""
    messages = OutboxMessage.objects.order_by("-seq")
    if channel:
        messages = messages.filter(channel=channel)
    counts = dict(OutboxMessage.objects.values_list("channel").annotate(n=Count("seq")).order_by())
    tabs = [
        {
            "channel": key,
            "label": label,
            "count": counts.get(key, 0) if key else sum(counts.values()),
            "current": key == channel,
        }
        for key, label in TABS
    ]
    context = {"rows": [_row(m) for m in messages[:SHOWN]], "tabs": tabs, "channel": channel}
    return render(request, "devinbox/inbox.html", context)
