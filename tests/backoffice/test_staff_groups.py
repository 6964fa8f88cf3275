"""Staff per product: `guichet staff create --area issuer|operator` makes a staff user who sees only
that product's part of the back-office; without `--area`, every permission as before."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client

from guichet.backoffice.groups import staff_groups_sync
from guichet.cli import main

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_process(settings):
    settings.LOGGING_CONFIG = None  # `guichet` calls django.setup() again


def create(capsys, username: str, *area: str) -> Client:
    assert main(["staff", "create", "--username", username, *area, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["username"] == username
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_operator_staff_see_the_operator_apps_only(capsys, in_process):
    # when
    client = create(capsys, "olivia", "--area", "operator")
    # then
    user = get_user_model().objects.get(username="olivia")
    assert (user.is_staff, user.is_superuser) == (True, False)
    assert [g.name for g in user.groups.all()] == ["operator staff"]
    assert user.has_perm("subscribers.view_billcharge")
    assert user.has_perm("merchants.view_payment")
    assert not user.has_perm("cards.view_card")
    assert client.get("/admin/subscribers/billcharge/").status_code == 200
    assert client.get("/admin/cards/card/").status_code == 403
    assert client.get("/admin/audit/auditevent/").status_code == 403


def test_issuer_staff_see_the_issuer_apps_only(capsys, in_process):
    client = create(capsys, "ivan", "--area", "issuer")
    user = get_user_model().objects.get(username="ivan")
    assert [g.name for g in user.groups.all()] == ["issuer staff"]
    assert user.has_perm("cards.view_card")
    assert not user.has_perm("subscribers.view_billcharge")
    assert not user.has_perm("merchants.view_payment")
    assert client.get("/admin/cards/card/").status_code == 200
    assert client.get("/admin/subscribers/billcharge/").status_code == 403
    assert client.get("/admin/merchants/payment/").status_code == 403


def test_without_an_area_a_staff_user_has_every_permission(capsys, in_process):
    create(capsys, "root")
    user = get_user_model().objects.get(username="root")
    assert (user.is_superuser, user.groups.count()) == (True, 0)


def test_an_unknown_area_is_refused(capsys, in_process):
    with pytest.raises(SystemExit):
        main(["staff", "create", "--username", "x", "--area", "audit"])
    assert "invalid choice: 'audit'" in capsys.readouterr().err
    assert not get_user_model().objects.filter(username="x").exists()


def test_groups_sync_resets_the_permissions(capsys, in_process):
    # given a permission given by hand to the operator group
    operator = staff_groups_sync()[1]
    operator.permissions.add(Permission.objects.get(codename="view_card"))
    # when
    assert main(["staff", "groups"]) == 0
    # then
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == ["issuer staff", "operator staff"]
    assert not Group.objects.get(name="operator staff").permissions.filter(codename="view_card").exists()
