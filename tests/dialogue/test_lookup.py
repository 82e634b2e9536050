"""Ticket status by phone in the pure policy (callbot.dialogue.lookup): only at the greeting, the check digit,
the runtime's answers (found, not found, limited, failed), and what a hang-up in the middle leaves."""

from __future__ import annotations

from datetime import date

import pytest

from callbot.config import Settings
from callbot.dialogue import Conversation, DialogueResources
from callbot.types import Ask, DtmfInput, FileTicket, FinalTranscript, Hangup, LookupTicket, NoInput, Speak
from callbot.types import TicketLookedUp

VALID, MISTYPED = "12345671", "12345672"  # Damm check digit 1 / a wrong one


@pytest.fixture(scope="module")
def resources() -> DialogueResources:
    return DialogueResources(Settings(default_province="Thành phố Hà Nội"))


def started(resources: DialogueResources, locale: str = "vi") -> Conversation:
    conv = Conversation(Settings(), locale=locale, call_id="c", caller_id="+84912345678", resources=resources)
    conv.start()
    return conv


def keys(decisions: list) -> list:
    return [d.key if isinstance(d, (Speak, Ask)) else type(d).__name__ for d in decisions]


def test_keypad_9_at_the_greeting_asks_for_eight_digits(resources) -> None:
    conv = started(resources)
    decisions = conv.handle(DtmfInput("9"))
    assert keys(decisions) == ["ask_lookup"] and decisions[0].dtmf_digits == 8
    assert conv.state.phase == "lookup"


def test_nine_after_the_form_began_is_not_a_lookup(resources) -> None:
    conv = started(resources)
    conv.handle(FinalTranscript("tôi tên là nguyễn văn an"))
    assert "ask_lookup" not in keys(conv.handle(DtmfInput("9")))
    assert conv.state.phase == "asking"


def test_a_wrong_check_digit_is_asked_again_and_a_right_one_is_looked_up(resources) -> None:
    conv = started(resources)
    conv.handle(FinalTranscript("tôi muốn kiểm tra phiếu"))
    assert keys(conv.handle(DtmfInput(MISTYPED))) == ["reprompt_lookup_1"]
    assert conv.handle(DtmfInput(VALID)) == [LookupTicket(VALID)]
    answer = conv.handle(TicketLookedUp("found", VALID, "in_progress", "UBND phường Đống Đa", date(2026, 11, 30)))
    assert keys(answer) == ["lookup_status", "after_lookup"]
    assert "đang xử lý" in answer[0].text and "UBND phường Đống Đa" in answer[0].text and "30/11/2026" in answer[0].text
    assert conv.state.phase == "asking" and conv.state.question == "name"


def test_spoken_digits_in_english(resources) -> None:
    conv = started(resources, "en")
    conv.handle(FinalTranscript("i want to check my ticket"))
    assert conv.handle(FinalTranscript("one two three four five six seven one")) == [LookupTicket(VALID)]
    answer = conv.handle(TicketLookedUp("found", VALID, "assigned", None, None))
    assert "not assigned yet" in answer[0].text


@pytest.mark.parametrize(("result", "said"), [("limited", "lookup_limited"), ("failed", "lookup_unavailable")])
def test_a_refused_lookup_goes_back_to_the_form(resources, result: str, said: str) -> None:
    conv = started(resources)
    conv.handle(DtmfInput("9"))
    conv.handle(DtmfInput(VALID))
    assert keys(conv.handle(TicketLookedUp(result, VALID))) == [said, "after_lookup"]  # type: ignore[arg-type]


def test_three_misses_give_up_and_a_hang_up_still_files(resources) -> None:
    conv = started(resources)
    conv.handle(DtmfInput("9"))
    conv.handle(DtmfInput(VALID))
    assert keys(conv.handle(TicketLookedUp("not_found", VALID))) == ["lookup_not_found", "reprompt_lookup_1"]
    assert keys(conv.handle(NoInput(8))) == ["reprompt_lookup_2"]
    assert keys(conv.handle(DtmfInput("123"))) == ["lookup_failed", "after_lookup"]
    conv2 = started(resources)
    conv2.handle(DtmfInput("9"))
    decisions = conv2.handle(Hangup())
    assert isinstance(decisions[0], FileTicket) and decisions[0].draft.outcome.value == "partial"


def test_keypad_0_during_a_lookup_escalates(resources) -> None:
    conv = started(resources)
    conv.handle(DtmfInput("9"))
    decisions = conv.handle(DtmfInput("0"))
    assert keys(decisions) == ["transfer_operator", "FileTicket"]
    assert decisions[1].draft.outcome.value == "escalated"
