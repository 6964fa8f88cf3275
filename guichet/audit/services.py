from __future__ import annotations

from typing import Any

from guichet.audit.models import AuditEvent
from guichet.core import clock


def audit_record(
    *, event: str, subject: str = "", ip: str = "", outcome: str = AuditEvent.Outcome.INFO, **detail: Any
) -> AuditEvent:
    """Record `event` (area:subject:action). Callers pass identifiers and counts, never secrets."""
    return AuditEvent.objects.create(
        at=clock.now(), event=event, subject=subject, ip=ip, outcome=outcome, detail=detail
    )
