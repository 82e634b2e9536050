"""Ticket status by phone over a real call: a pjsua2 caller presses 9 at the greeting, keys a ticket number with a
wrong check digit (asked again), then the right one by RFC 2833; the bot reads the status and unit (read back
from the call's stored turns) and the lookup is audited once (the mistyped number never reaches the store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callbot.store.lookups import LOOKUP_ACTION
from callbot.ticket_numbers import damm_check_digit
from tests.support.sip import ServiceProcess, run_peer, start_service, store_for, ticket_of
from tests.support.stores import audit_entries, draft


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[ServiceProcess]:
    service = start_service(tmp_path / "data", {"CALLBOT_MAX_CALLS": "1", "CALLBOT_TRUSTED_PEERS": '["127.0.0.1"]',
                                                "CALLBOT_OVERFLOW_MODE": "overflow-target"})
    yield service
    assert service.stop() == 0, service.log()[-3000:]


@pytest.mark.slow
@pytest.mark.sip
def test_status_by_keypad_with_a_wrong_check_digit_first(bot: ServiceProcess, tmp_path: Path) -> None:
    store = store_for(bot)
    try:
        number = store.call_log.file_ticket(draft=draft("earlier-call"))
    finally:
        store.close()
    wrong = number[:7] + str((int(number[7]) + 1) % 10)
    assert damm_check_digit(wrong) != 0
    report = run_peer(
        tmp_path / "r.json", "--target", bot.uri, "--step", "until_speech:15", "--step", "hold:1",
        "--step", "dtmf:9", "--step", "hold:2", "--step", f"dtmf:{wrong}", "--step", "hold:3",
        "--step", f"dtmf:{number}", "--step", "hold:12", "--step", "hangup",
    )
    assert report["connected"] and report["dtmf_sent"] == "9" + wrong + number, report
    ticket = ticket_of(bot, report["call_id"])
    assert ticket is not None, bot.log()[-3000:]
    keyed = [turn.text for turn in ticket.turns if turn.kind == "dtmf"]
    assert keyed == ["9", wrong, number], ticket.turns
    said = [turn.text for turn in ticket.turns if turn.speaker == "bot"]
    assert any("chưa đúng" in text for text in said), said  # reprompt_lookup_1: the check digit caught it
    status = next(text for text in said if text.startswith("Phiếu số"))
    assert "mới tiếp nhận" in status and "UBND Phường Hoàn Kiếm" in status, status
    store = store_for(bot)
    try:
        entries = audit_entries(store, action=LOOKUP_ACTION)
    finally:
        store.close()
    assert [(entry.target_id, entry.new_value) for entry in entries] == [(number, "found")]
