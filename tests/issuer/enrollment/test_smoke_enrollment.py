from __future__ import annotations

import pytest
from django.test import Client

from guichet.delivery.models import OutboxMessage
from guichet.delivery.worker import deliver_due
from tests.support.factories import make_cardholder
from tests.support.fixtures import email_code, sms_code


@pytest.mark.django_db
def test_enrollment_codes_reach_the_real_smtp_server_and_sms_gateway(outbound, clock):
    # given
    smtp, sms = outbound
    holder = make_cardholder(email="marie@example.com", phone="+687751123")
    client = Client()
    # when
    response = client.post("/enrollment/", {"email": "Marie@Example.com"})
    delivered = deliver_due()
    # then
    assert response.status_code == 302
    assert response["Location"] == "/enrollment/verify/"
    assert delivered == 2
    assert OutboxMessage.objects.filter(status="sent").count() == 2
    [text] = [m["text"] for m in sms.to("+687751123")]
    [mail] = smtp.to("marie@example.com")
    assert len(sms_code(text)) == 8
    assert len(email_code(mail.body)) == 5
    assert holder.cards.count() == 1
