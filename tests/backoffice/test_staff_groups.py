"""Staff groups per area: issuer staff see cards, never subscribers; operator staff the reverse."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from guichet.backoffice.groups import ISSUER_STAFF, OPERATOR_STAFF, staff_groups_sync
from guichet.backoffice.services import staff_create

pytestmark = pytest.mark.django_db

ISSUER_PAGES = ("/admin/cards/card/", "/admin/cards/cardholder/", "/admin/acs/acstransaction/")
OPERATOR_PAGES = (
    "/admin/subscribers/contract/", "/admin/subscribers/billcharge/", "/admin/merchants/merchant/",
    "/admin/merchants/payment/",
)  # fmt: skip
SHARED = ("/admin/audit/auditevent/", "/admin/delivery/outboxmessage/", "/admin/auth/user/")


def signed_in(group: str) -> Client:
    user = get_user_model().objects.create_user(username=group.replace(" ", "-"), is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


def test_the_migration_made_both_groups_with_view_and_change_of_their_area():
    issuer = set(Group.objects.get(name=ISSUER_STAFF).permissions.values_list("codename", flat=True))
    assert issuer == {
        "view_cardholder", "change_cardholder", "view_card", "change_card", "view_acstransaction",
        "change_acstransaction",
    }  # fmt: skip
    operator = set(
        Group.objects.get(name=OPERATOR_STAFF).permissions.values_list("content_type__app_label", flat=True)
    )
    assert operator == {"subscribers", "merchants"}


def test_issuer_staff_see_cards_and_never_subscribers():
    client = signed_in(ISSUER_STAFF)
    assert [client.get(url).status_code for url in ISSUER_PAGES] == [200, 200, 200]
    assert [client.get(url).status_code for url in OPERATOR_PAGES + SHARED] == [403] * 7
    index = client.get("/admin/").content.decode()
    assert "/admin/cards/card/" in index
    assert "/admin/subscribers/" not in index


def test_operator_staff_see_subscribers_and_never_cards():
    client = signed_in(OPERATOR_STAFF)
    assert [client.get(url).status_code for url in OPERATOR_PAGES] == [200, 200, 200, 200]
    assert [client.get(url).status_code for url in ISSUER_PAGES + SHARED] == [403] * 6
    index = client.get("/admin/").content.decode()
    assert "/admin/subscribers/contract/" in index
    assert "/admin/cards/" not in index


def test_syncing_again_changes_nothing():
    before = sorted(Group.objects.get(name=ISSUER_STAFF).permissions.values_list("pk", flat=True))
    staff_groups_sync()
    assert sorted(Group.objects.get(name=ISSUER_STAFF).permissions.values_list("pk", flat=True)) == before
    assert Group.objects.filter(name__in=[ISSUER_STAFF, OPERATOR_STAFF]).count() == 2


def test_staff_create_with_an_area_makes_a_member_of_its_group_not_a_superuser():
    created = staff_create(username="agent", area="issuer")
    user = get_user_model().objects.get(username="agent")
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert list(user.groups.values_list("name", flat=True)) == [ISSUER_STAFF]
    assert created.area == "issuer"
