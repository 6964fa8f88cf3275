"""Demo only: every SMS and email as its recipient would read it."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from guichet.delivery.models import OutboxMessage
from guichet.delivery.services import outbox_content


def inbox(request: HttpRequest) -> HttpResponse:
    if not settings.GUICHET.demo:
        raise Http404
    rows = []
    for message in OutboxMessage.objects.order_by("-seq")[:100]:
        content = outbox_content(message)
        rows.append({"message": message, "subject": content.subject, "body": content.body})
    return render(request, "devinbox/inbox.html", {"rows": rows})
