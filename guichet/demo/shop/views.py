"""The demo shop's pages, its 3DS notificationURL, its notification receiver and the DS's RReq receiver.

No page relies on a cookie of the shop (only the language switch and CSRF use theirs): the order is
named in each URL, and what comes back from the ACS's iframe is proven by threeDSSessionData.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from guichet.core import clock
from guichet.core.http import client_ip
from guichet.demo.data import DEMO_CARDS, DEMO_EPIN
from guichet.demo.shop import ds, internetplus, threeds
from guichet.demo.shop.catalogue import PRODUCTS, SHOP_NAME, price
from guichet.demo.shop.forms import CardForm
from guichet.demo.shop.models import Order
from guichet.demo.shop.services import shop_order_create

# How long the result page keeps refreshing while the DS has not received the RReq yet.
RREQ_WAIT_S = 120


def _language() -> str:
    return (get_language() or "fr")[:2]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _csp(*, form_action: tuple[str, ...] = (), frame_src: tuple[str, ...] = ()) -> str:
    """The global policy, opened just enough for a page that posts to, or frames, another origin."""
    forms = " ".join(("'self'", *form_action))
    frames = " ".join(("'self'", *frame_src))
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"form-action {forms}; frame-src {frames}; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )


def _shop_base(request: HttpRequest) -> str:
    """The origin the customer uses for the shop (which may differ from GUICHET_PUBLIC_URL)."""
    return f"{request.scheme}://{request.get_host()}"


def _context(**extra: Any) -> dict[str, Any]:
    return {
        "shop_name": SHOP_NAME,
        "inbox_url": f"{settings.GUICHET.public_url}/dev/inbox" if settings.GUICHET.demo else "",
        **extra,
    }


def _product_view(key: str) -> dict[str, Any]:
    product = PRODUCTS[key]
    return {"product": product, "price": price(product.amount, product.currency, _language())}


def index(request: HttpRequest) -> HttpResponse:
    products = [_product_view(key) for key in PRODUCTS]
    return render(request, "demoshop/index.html", _context(products=products))


@require_http_methods(["GET", "POST"])
def basket(request: HttpRequest, product: str) -> HttpResponse:
    if product not in PRODUCTS:
        raise Http404
    view = _product_view(product)
    if request.method == "POST":
        method = request.POST.get("method", "")
        if method not in Order.Method.values:
            return _basket_page(request, view, status=400)
        order = shop_order_create(product=product)
        if method == Order.Method.CARD:
            return redirect("demoshop:card", order_id=order.id)
        order = internetplus.shop_internetplus_start(
            order=order,
            product_name=str(view["product"].name),
            shop_base=_shop_base(request),
            language=request.LANGUAGE_CODE,
        )
        if order.checkout_url and order.status == Order.Status.PENDING:
            return redirect(order.checkout_url)
        return redirect("demoshop:order", order_id=order.id)
    return _basket_page(request, view)


def _basket_page(request: HttpRequest, view: dict[str, Any], *, status: int = 200) -> HttpResponse:
    response = render(request, "demoshop/basket.html", _context(**view), status=status)
    # internet+ goes on with a redirect to Guichet's checkout, which form-action also governs.
    response["Content-Security-Policy"] = _csp(form_action=(_origin(settings.GUICHET.public_url),))
    return response


def _demo_cards() -> list[dict[str, str]]:
    first_holder = DEMO_CARDS[0].email
    return [
        {
            "pan": " ".join(card.pan[i : i + 4] for i in range(0, len(card.pan), 4)),
            "name": card.name,
            "epin": DEMO_EPIN if card.email == first_holder else "",
        }
        for card in DEMO_CARDS
    ]


@require_http_methods(["GET", "POST"])
def card(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    if order.status != Order.Status.NEW:
        return redirect("demoshop:order", order_id=order.id)
    form = CardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        base = _shop_base(request)
        data = form.cleaned_data
        browser = threeds.Browser(
            accept_header=request.headers.get("Accept", ""),
            user_agent=request.headers.get("User-Agent", ""),
            # The shop's chosen language, so the challenge speaks the customer's language.
            language=_language(),
            ip=client_ip(request),
            **form.browser_fields(),
        )
        threeds.threeds_authenticate(
            order=order,
            pan=data["pan"],
            expiry=data["expiry"],
            cardholder_name=data["name"],
            browser=browser,
            notification_url=base + reverse("demoshop:challenge_complete", kwargs={"order_id": order.id}),
            requestor_url=base + reverse("demoshop:index"),
            server_url=base + reverse("demoshop:index") + "3ds-server",
            ds_url=settings.GUICHET.public_url + reverse("demoshop:ds_rreq"),
        )
        return redirect("demoshop:order", order_id=order.id)
    notify = _shop_base(request) + reverse("demoshop:method_done", kwargs={"order_id": order.id})
    method = threeds.threeds_method_start(order=order, notification_url=notify)
    context = _context(
        order=order, form=form, cards=_demo_cards(), method=method, **_product_view(order.product)
    )
    response = render(request, "demoshop/card.html", context, status=400 if form.is_bound else 200)
    if method is not None:  # the hidden 3DS Method iframe and its form, on the ACS's origin
        acs = _origin(method.method_url)
        response["Content-Security-Policy"] = _csp(form_action=(acs,), frame_src=(acs,))
    return response


def order_page(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    order = get_object_or_404(Order, pk=order_id)
    context = _context(order=order, **_product_view(order.product))
    if order.status == Order.Status.NEW and not order.three_ds_server_trans_id:
        return redirect("demoshop:basket", product=order.product)
    if order.status == Order.Status.CHALLENGE:
        response = render(request, "demoshop/challenge.html", context)
        acs = _origin(order.acs_url)
        response["Content-Security-Policy"] = _csp(form_action=(acs,), frame_src=(acs,))
        return response
    results = ds.ds_results(order)
    accepted = [r for r in results if r.accepted]
    rreq = accepted[-1].rreq if accepted else None
    # The AReq of another submit still on its way, or the RReq after the challenge: look again soon.
    recent = (clock.now() - order.updated_at).total_seconds() < RREQ_WAIT_S
    waiting = recent and (
        order.status == Order.Status.NEW
        or (
            order.method == Order.Method.CARD
            and order.acs_url != ""
            and order.status in (Order.Status.ACCEPTED, Order.Status.REFUSED)
            and rreq is None
        )
    )
    context.update(
        ds_results=[
            {"result": r, "rreq_json": _pretty(r.rreq), "answer_json": _pretty(r.answer)} for r in results
        ],
        rreq=rreq,
        eci=(rreq or {}).get("eci") or order.eci,
        authentication_value=(rreq or {}).get("authenticationValue") or order.authentication_value,
        waiting_for_rreq=waiting,
        ares_json=_pretty(order.ares),
        cres_json=_pretty(order.cres),
        notifications=list(order.notifications.order_by("id")),
    )
    return render(request, "demoshop/order.html", context)


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) if data is not None else ""


@csrf_exempt  # posted by the ACS's 3DS Method page from another origin; it carries no secret
@xframe_options_sameorigin  # shown inside the hidden 3DS Method iframe of our own card page
@require_POST
def method_done(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """The threeDSMethodNotificationURL: the ACS's page posts threeDSMethodData back here."""
    known = threeds.threeds_method_notified(
        order_id=order_id, method_data=request.POST.get("threeDSMethodData", "")[:1024]
    )
    response = render(request, "demoshop/method_done.html", _context(), status=200 if known else 400)
    response["Content-Security-Policy"] = _csp().replace("frame-ancestors 'none'", "frame-ancestors 'self'")
    return response


@csrf_exempt  # posted by the ACS's page from another origin; proven by threeDSSessionData instead
@xframe_options_sameorigin  # shown inside the challenge iframe of our own checkout page
@require_POST
def challenge_complete(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    order = threeds.threeds_challenge_complete(
        order_id=order_id,
        cres=request.POST.get("cres", "")[:8192],
        session_data=request.POST.get("threeDSSessionData", "")[:1024],
    )
    response = render(
        request, "demoshop/challenge_done.html", _context(order=order), status=200 if order else 400
    )
    response["Content-Security-Policy"] = _csp().replace("frame-ancestors 'none'", "frame-ancestors 'self'")
    return response


def internetplus_return(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    query = request.GET
    order = internetplus.shop_return_record(
        order_id=order_id,
        payment_id=query.get("payment_id", "")[:64],
        status=query.get("status", "")[:32],
        t=query.get("t", "")[:16],
        v1=query.get("v1", "")[:128],
    )
    if order is None:
        raise Http404
    return redirect("demoshop:order", order_id=order.id)


@csrf_exempt  # a server-to-server post, authenticated by its Guichet-Signature
@require_POST
def notify(request: HttpRequest) -> JsonResponse:
    status, notification = internetplus.shop_notification_receive(
        raw=request.body, signature=request.headers.get(internetplus.SIGNATURE_HEADER, "")
    )
    return JsonResponse({"received": status == 200, "problem": notification.problem or None}, status=status)


@csrf_exempt  # the ACS's RReq: a server-to-server protocol message
@require_POST
def ds_rreq(request: HttpRequest) -> JsonResponse:
    return JsonResponse(ds.ds_rreq_receive(raw=request.body))
