"""Staff groups per product: "issuer staff" see and manage the issuer's apps (cards, enrollment, the
ACS), "operator staff" the operator's (subscribers and their bills, merchants and payments, the
checkout's statements). Neither sees the other's, nor the audit log and staff accounts, which stay
with superusers (`guichet staff create` without `--area`).

The groups hold every permission of their apps' models (the admin classes themselves refuse what no
one may do, such as adding a payment); `staff_groups_sync` (re)sets them, after migrations add
models: `guichet staff groups`.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "issuer": ("issuer staff", ("cards", "enrollment", "acs", "acs_challenge")),
    "operator": ("operator staff", ("subscribers", "merchants", "checkout")),
}


def staff_group_sync(*, area: str) -> Group:
    """The group of `area` ("issuer" or "operator") with exactly its apps' permissions."""
    name, labels = AREAS[area]
    with transaction.atomic():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(content_type__app_label__in=labels))
    return group


def staff_groups_sync() -> list[Group]:
    return [staff_group_sync(area=area) for area in AREAS]
