from __future__ import annotations

from typing import Any

from guichet.audit.events import Event
from guichet.audit.models import AuditEvent
from guichet.core import clock


def audit_record(
    *, event: Event, subject: str = "", ip: str = "", outcome: str = AuditEvent.Outcome.INFO, **detail: Any
) -> AuditEvent:
    """Record `event` (audit/events.py). Callers pass identifiers and counts, never secrets."""
    return AuditEvent.objects.create(
        at=clock.now(), event=event, subject=subject, ip=ip, outcome=outcome, detail=detail
    )
