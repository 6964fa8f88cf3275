"""The back-office's staff groups, one per product: issuer staff see the cards and the ACS's
transactions, never a subscriber; operator staff see subscribers and merchants, never a card.

Each group gets the view and change permissions of its area's models (changes there go through the
areas' own admin code and services). The audit log, the outbox and the credential throttles span both
products, so neither group sees them: superusers (`guichet staff create` without `--area`) do.
Created by migration `backoffice.0002_staff_groups`; `staff_groups_sync` sets them again (idempotent).
"""

from __future__ import annotations

from typing import Any

ISSUER_STAFF = "issuer staff"
OPERATOR_STAFF = "operator staff"
AREAS = {"issuer": ISSUER_STAFF, "operator": OPERATOR_STAFF}

# group → {app label: model names}
STAFF_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    ISSUER_STAFF: {"cards": ("cardholder", "card"), "acs": ("acstransaction",)},
    OPERATOR_STAFF: {
        "subscribers": ("contract", "billcharge"),
        "merchants": ("merchant", "apikey", "payment", "notification"),
    },
}
ACTIONS = ("view", "change")


def staff_groups_sync(*, apps: Any = None) -> None:
    """Create the groups and set exactly their permissions. `apps`: a migration's app registry."""
    if apps is None:
        from django.apps import apps as registry

        apps = registry
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, areas in STAFF_GROUPS.items():
        group, _ = group_model.objects.get_or_create(name=name)
        wanted = [
            permission_model.objects.get(
                content_type__app_label=label, content_type__model=model, codename=f"{action}_{model}"
            )
            for label, models in areas.items()
            for model in models
            for action in ACTIONS
        ]
        group.permissions.set(wanted)
