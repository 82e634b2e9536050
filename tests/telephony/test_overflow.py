"""Admission policy: trusted peers, front-door redirects, the concurrency limit, shutdown."""

from __future__ import annotations

import pytest

from callbot.telephony.overflow import (
    AdmissionPolicy,
    InviteContext,
    OperatorDirectory,
    Verdict,
    parse_trusted_peers,
    source_host,
)


def policy(mode: str = "overflow-target", max_calls: int = 2) -> AdmissionPolicy:
    return AdmissionPolicy(mode=mode, trusted_peers=["127.0.0.1", "10.1.0.0/16", "::1"], max_calls=max_calls)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "host"),
    [("127.0.0.1:5060", "127.0.0.1"), ("[::1]:5060", "::1"), ("10.1.2.3", "10.1.2.3"), ("::1", "::1")],
)
def test_source_host(source: str, host: str) -> None:
    assert source_host(source) == host


@pytest.mark.parametrize(
    ("source", "trusted"),
    [
        ("127.0.0.1:5060", True),
        ("127.0.0.2:5060", False),
        ("10.1.200.7:5060", True),
        ("10.2.0.1:5060", False),
        ("[::1]:5062", True),
        ("[::ffff:127.0.0.1]:5062", True),
        ("not-an-address", False),
    ],
)
def test_trusted_peers(source: str, trusted: bool) -> None:
    assert policy().is_trusted(source) is trusted


def test_bad_trusted_peer_entry_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="CALLBOT_TRUSTED_PEERS"):
        parse_trusted_peers(["no such host.invalid"])


def test_untrusted_source_gets_403_without_asking_for_an_operator() -> None:
    asked: list[bool] = []

    def free_operator() -> str:
        asked.append(True)
        return "sip:op@pbx"

    admission = policy("front-door").decide(InviteContext("127.0.0.2:5060", 0), free_operator)
    assert (admission.verdict, admission.status_code) == (Verdict.reject, 403)
    assert not asked  # an untrusted flood costs no store query


def test_front_door_redirects_to_a_free_operator() -> None:
    admission = policy("front-door").decide(InviteContext("127.0.0.1:5060", 0), lambda: "sip:op1@pbx")
    assert (admission.verdict, admission.status_code, admission.target_uri) == (Verdict.redirect, 302, "sip:op1@pbx")


def test_front_door_redirects_even_when_the_bot_is_full() -> None:
    admission = policy("front-door", max_calls=1).decide(InviteContext("127.0.0.1:5060", 1), lambda: "sip:op1@pbx")
    assert admission.verdict is Verdict.redirect


def test_front_door_answers_when_no_operator_is_free() -> None:
    admission = policy("front-door").decide(InviteContext("127.0.0.1:5060", 0), lambda: None)
    assert (admission.verdict, admission.status_code) == (Verdict.answer, 200)


def test_overflow_target_answers_even_with_a_free_operator() -> None:
    admission = policy("overflow-target").decide(InviteContext("127.0.0.1:5060", 0), lambda: "sip:op1@pbx")
    assert admission.verdict is Verdict.answer


def test_over_the_limit_is_486() -> None:
    admission = policy(max_calls=2).decide(InviteContext("127.0.0.1:5060", 2), lambda: None)
    assert (admission.verdict, admission.status_code) == (Verdict.reject, 486)


def test_shutting_down_is_503() -> None:
    admission = policy().decide(InviteContext("127.0.0.1:5060", 0, accepting=False), lambda: None)
    assert (admission.verdict, admission.status_code) == (Verdict.reject, 503)


class _Operator:
    def __init__(self, uri: str) -> None:
        self.uri = uri


class _Store:
    def __init__(self, free: str | None, fail: bool = False) -> None:
        self.free, self.fail = free, fail

    def free_operator(self) -> _Operator | None:
        if self.fail:
            raise RuntimeError("database down")
        return _Operator(self.free) if self.free else None


def test_directory_prefers_the_store() -> None:
    assert OperatorDirectory(["sip:static@pbx"], store=_Store("sip:op@pbx")).free_operator_uri() == "sip:op@pbx"
    assert OperatorDirectory(["sip:static@pbx"], store=_Store(None)).free_operator_uri() is None


def test_directory_treats_a_store_outage_as_everyone_busy() -> None:
    assert OperatorDirectory([], store=_Store("sip:op@pbx", fail=True)).free_operator_uri() is None


def test_directory_without_store_uses_configured_uris_and_statuses() -> None:
    directory = OperatorDirectory(["sip:a@pbx", "sip:b@pbx"])
    assert directory.free_operator_uri() == "sip:a@pbx"
    directory.set_status("sip:a@pbx", "busy")
    assert directory.free_operator_uri() == "sip:b@pbx"
    directory.set_status("sip:b@pbx", "offline")
    assert directory.free_operator_uri() is None
