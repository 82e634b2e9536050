"""Pure helpers of the pjsua2 endpoint module (no endpoint needed)."""

from __future__ import annotations

import pytest

from callbot.telephony.pjsip import caller_id_of, with_uri_headers


@pytest.mark.parametrize(
    ("remote_uri", "caller_id"),
    [
        ('"Ann" <sip:0912345678@pbx.example.org>', "0912345678"),
        ("<sip:0912345678@10.0.0.1:5060;transport=udp>", "0912345678"),
        ("sip:115@pbx", "115"),
        ("<sips:alice@example.org>", "alice"),
        ("<tel:+84912345678;phone-context=vn>", "+84912345678"),
        ("<sip:pbx.example.org>", None),
        ("<sip:0912;phone-context=x@pbx>", "0912"),
    ],
)
def test_caller_id_of(remote_uri: str, caller_id: str | None) -> None:
    assert caller_id_of(remote_uri) == caller_id


def test_with_uri_headers_puts_the_ticket_in_the_refer_to_uri() -> None:
    assert with_uri_headers("sip:op@pbx", {"X-Callbot-Ticket": "12345678"}) == "<sip:op@pbx?X-Callbot-Ticket=12345678>"
    assert with_uri_headers("<sip:op@pbx>", {}) == "<sip:op@pbx>"
    assert with_uri_headers("sip:op@pbx?A=1", {"B": "x y"}) == "<sip:op@pbx?A=1&B=x%20y>"
