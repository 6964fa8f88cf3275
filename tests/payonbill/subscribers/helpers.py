"""Steps shared by the subscriber view tests (Django's test Client)."""

from __future__ import annotations

import html
import re
from typing import Any

from django.test import Client

from guichet.delivery.worker import deliver_due

SESSION = "guichet_session"
REMEMBER = "guichet_sub_email"
ERROR = re.compile(r'<p class="error" role="alert" id="error">(.*?)</p>', re.S)
FIELD_ERRORS = re.compile(r'<p class="error field-error" role="alert"[^>]*>(.*?)</p>', re.S)
MESSAGES = re.compile(r'<div class="message [^"]*" role="status">(.*?)</div>', re.S)

FAILED_FR = "L'adresse mail ou le mot de passe est incorrect."
BLOCKED_FR = (
    "Après trop de tentatives infructueuses, l'accès est temporairement bloqué. Veuillez réessayer plus tard."
)
RATE_LIMITED_FR = "Trop de tentatives depuis votre connexion. Veuillez réessayer dans quelques minutes."


def text(response: Any) -> str:
    return html.unescape(response.content.decode())


def error(response: Any) -> str:
    found = ERROR.findall(text(response))
    return " ".join(re.sub(r"<[^>]+>", "", found[0]).split()) if found else ""


def field_errors(response: Any) -> list[str]:
    return [" ".join(e.split()) for e in FIELD_ERRORS.findall(text(response))]


def shown_messages(response: Any) -> list[str]:
    return [" ".join(m.split()) for m in MESSAGES.findall(text(response))]


def post_signin(
    client: Client,
    login: str,
    password: str,
    *,
    stay: bool = False,
    remember: bool = False,
    next_url: str = "/account/",
) -> Any:
    data = {"login": login, "password": password}
    if stay:
        data["stay"] = "on"
    if remember:
        data["remember_email"] = "on"
    return client.post(f"/account/signin/?next={next_url}", data)


def signed_in_client(login: str, password: str, *, stay: bool = False, **headers: Any) -> Client:
    client = Client(**headers)
    response = post_signin(client, login, password, stay=stay)
    assert response.status_code == 302, text(response)
    assert response["Location"] == "/account/"
    return client


def fresh_browser(client: Client) -> Client:
    """The same browser after a restart: only the cookies that outlive it (those with a max-age)."""
    restarted = Client()
    for name, morsel in client.cookies.items():
        deleted = str(morsel["max-age"]) == "0" or not morsel.value
        if (morsel["max-age"] or morsel["expires"]) and not deleted:
            restarted.cookies[name] = morsel.value
    return restarted


def deliver_all() -> None:
    """Delivery passes until the outbox is empty (one pass sends one message per recipient)."""
    for _ in range(20):
        if not deliver_due():
            return
