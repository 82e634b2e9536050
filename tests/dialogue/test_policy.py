"""The dialogue policy and the Conversation wrapper (callbot.dialogue)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from callbot.config import Settings
from callbot.dialogue import Conversation, DialogueResources, UnknownProvince, policy
from callbot.dialogue.state import DialogueState
from callbot.prompts import load_prompts
from callbot.types import (
    Ask,
    Category,
    DtmfInput,
    EndCall,
    FileTicket,
    FinalTranscript,
    Hangup,
    NoInput,
    Outcome,
    Priority,
    RecordedAnswer,
    Speak,
    TicketDraft,
    TicketFiled,
    Transfer,
    TransferResult,
)
from tests.support import REPO

HANOI = "Thành phố Hà Nội"


@pytest.fixture(scope="module")
def resources() -> DialogueResources:
    return DialogueResources(Settings(default_province=HANOI))


def conversation(resources: DialogueResources, locale: str = "vi", **overrides: object) -> Conversation:
    settings = Settings(default_province=HANOI, **overrides)  # type: ignore[arg-type]
    conv = Conversation(
        settings, locale=locale, call_id="call-1", caller_id="+84900000000", resources=resources
    )
    conv.start()
    return conv


def say(conv: Conversation, text: str, confidence: float = 1.0) -> list:
    return conv.handle(FinalTranscript(text, confidence))


def fill_form(conv: Conversation) -> list:
    say(conv, "tôi tên là nguyễn văn an")
    say(conv, "số mười hai ngõ ba mươi tư phường đống đa")
    return say(conv, "tôi cần hỗ trợ gạo")


def keys(decisions: list) -> list:
    return [d.key if isinstance(d, (Speak, Ask)) else type(d).__name__ for d in decisions]


def test_start_greets_then_asks_the_first_empty_slot(resources) -> None:
    conv = Conversation(Settings(), locale="vi", call_id="c", resources=resources)
    decisions = conv.start()
    assert keys(decisions) == ["greeting", "ask_name"]
    assert "bận" in decisions[0].text  # operators are busy
    ask = decisions[1]
    assert (ask.slot, ask.phrases, ask.end_silence_ms) == ("name", None, None)
    assert conv.last_ask == ask and not conv.ended
    with pytest.raises(RuntimeError):
        conv.start()


def test_handle_before_start_is_an_error(resources) -> None:
    with pytest.raises(RuntimeError):
        Conversation(Settings(), locale="vi", call_id="c", resources=resources).handle(NoInput(8))


def test_policy_is_pure(resources) -> None:
    ctx = resources.context("vi")
    state = DialogueState(call_id="c", locale="vi")
    state, _ = policy.start(state, ctx)
    before = dataclasses.replace(state)
    first = policy.step(state, FinalTranscript("tôi tên là nguyễn văn an"), ctx)
    second = policy.step(state, FinalTranscript("tôi tên là nguyễn văn an"), ctx)
    assert first == second  # same state and event, same answer: no clock, no hidden input
    assert state == before and state.name is None  # the old state is untouched
    assert first[0].name == "Nguyễn Văn An"
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.name = "x"  # type: ignore[misc]


def test_address_ask_carries_the_long_end_silence(resources) -> None:
    conv = conversation(resources, address_end_silence_ms=1700)
    (ask,) = say(conv, "tôi là lê minh")
    assert (ask.slot, ask.key, ask.end_silence_ms) == ("address", "ask_address", 1700)


def test_ward_question_has_the_province_wards_as_phrases(resources) -> None:
    conv = conversation(resources)
    say(conv, "tôi là lê minh")
    (ask,) = say(conv, "ngõ ba quận đống đa")
    assert (ask.slot, ask.key) == ("ward", "ask_ward_district")
    assert "quận đống đa" in ask.text
    assert {"phường đống đa", "đống đa", "xã gia lâm"} <= set(ask.phrases)
    assert "bến thành" not in ask.phrases  # a ward of another province
    assert ask.end_silence_ms == 1200


def test_which_province_question_has_the_candidate_provinces_as_phrases() -> None:
    settings = Settings()  # no default province: "Tân An" exists in ten provinces
    conv = Conversation(settings, locale="vi", call_id="c", resources=DialogueResources(settings))
    conv.start()
    say(conv, "tôi là lê minh")
    (ask,) = say(conv, "phường tân an")
    assert ask.key == "ask_ward_which_province" and "Tân An" in ask.text
    assert {"đắk lắk", "nghệ an", "thành phố cần thơ", "cần thơ"} <= set(ask.phrases)


def test_readback_is_a_yes_no_question(resources) -> None:
    conv = conversation(resources)
    (ask,) = fill_form(conv)
    assert (ask.slot, ask.key) == ("confirm", "readback")
    assert "Nguyễn Văn An" in ask.text and "số 12 ngõ 34, Phường Đống Đa, Thành phố Hà Nội" in ask.text
    assert {"có", "đúng rồi", "không", "sai rồi"} <= set(ask.phrases)


def test_filing_protocol_complete(resources) -> None:
    conv = conversation(resources)
    fill_form(conv)
    decisions = conv.handle(DtmfInput("1"))
    assert len(decisions) == 1 and isinstance(decisions[0], FileTicket)
    draft = decisions[0].draft
    assert (draft.outcome, draft.call_id, draft.caller_id, draft.locale) == (
        Outcome.complete,
        "call-1",
        "+84900000000",
        "vi",
    )
    assert (draft.ward_code, draft.ward_name, draft.province_code) == ("00235", "Phường Đống Đa", "01")
    assert (draft.category, draft.priority) == (Category.essential_supplies, Priority.normal)
    said = conv.handle(TicketFiled("1234-5678"))
    assert keys(said) == ["ticket_number", "goodbye", "EndCall"]
    assert "một hai ba bốn, năm sáu bảy tám" in said[0].text  # read back digit by digit, in groups
    assert conv.ended and conv.ticket_number == "1234-5678"
    assert conv.handle(FinalTranscript("alo")) == [] and conv.handle(Hangup()) == []


def test_ticket_number_without_a_dash_is_read_in_groups(resources) -> None:
    conv = conversation(resources, locale="en")
    say(conv, "my name is john smith")
    say(conv, "forty two baker street")
    say(conv, "i need rice")
    say(conv, "yes")
    (number, _, _) = conv.handle(TicketFiled("40710025"))
    assert "four zero seven one, zero zero two five" in number.text


def test_operator_escalation_protocol(resources) -> None:
    conv = conversation(resources)
    say(conv, "tôi là lê minh")
    decisions = say(conv, "cho tôi gặp tổng đài viên")
    assert keys(decisions) == ["transfer_operator", "FileTicket"]
    assert (decisions[1].draft.outcome, decisions[1].draft.escalation) == (Outcome.escalated, "operator")
    assert decisions[1].draft.name == "Lê Minh"
    assert say(conv, "alo alo") == []  # talking while the ticket is filed changes nothing
    filed = conv.handle(TicketFiled("0000-0017"))
    assert keys(filed) == ["ticket_before_transfer", "Transfer"]
    assert filed[1] == Transfer("operator", "0000-0017")
    assert conv.handle(TransferResult(True)) == [EndCall("transferred")]
    assert conv.ended


def test_operator_busy_means_callback(resources) -> None:
    conv = conversation(resources)
    conv.handle(DtmfInput("0"))
    conv.handle(TicketFiled("0000-0017"))
    assert keys(conv.handle(TransferResult(False))) == ["callback", "goodbye", "EndCall"]


def test_emergency_escalates_at_once(resources) -> None:
    conv = conversation(resources)
    decisions = say(conv, "bố tôi khó thở lắm", confidence=0.3)  # even when the recognizer is unsure
    assert keys(decisions) == ["transfer_emergency", "FileTicket"]
    draft = decisions[1].draft
    assert (draft.outcome, draft.escalation, draft.category, draft.priority) == (
        Outcome.escalated, "emergency", Category.emergency, Priority.high,
    )  # fmt: skip
    assert conv.handle(TicketFiled("0000-0001")) == [Transfer("emergency", "0000-0001")]
    assert keys(conv.handle(TransferResult(False))) == ["emergency_transfer_failed", "EndCall"]


def test_hangup_files_partial_then_ignores_the_ticket_number(resources) -> None:
    conv = conversation(resources)
    say(conv, "tôi là lê minh")
    decisions = conv.handle(Hangup())
    assert keys(decisions) == ["FileTicket", "EndCall"]
    assert (decisions[0].draft.outcome, decisions[0].draft.name) == (Outcome.partial, "Lê Minh")
    assert "caller hung up during address" in decisions[0].draft.notes
    assert conv.ended and conv.handle(TicketFiled("0000-0001")) == []


def test_hangup_while_filing_only_ends(resources) -> None:
    conv = conversation(resources)
    fill_form(conv)
    say(conv, "đúng rồi")
    assert conv.handle(Hangup()) == [EndCall("hangup")]


def test_reprompts_are_counted_per_question(resources) -> None:
    conv = conversation(resources)
    assert keys(conv.handle(NoInput(8))) == ["reprompt_name_1"]
    say(conv, "tôi là lê minh")
    assert keys(conv.handle(NoInput(8))) == ["reprompt_address_1"]  # a new question starts at 1
    assert keys(conv.handle(NoInput(8))) == ["reprompt_address_2"]
    assert keys(conv.handle(NoInput(8))) == ["exhausted_transfer", "FileTicket"]


def test_more_reprompts_than_prompts_reuse_the_last(resources) -> None:
    conv = conversation(resources, max_reprompts=4)
    said = [keys(conv.handle(NoInput(8)))[0] for _ in range(4)]
    assert said == ["reprompt_name_1", "reprompt_name_2", "reprompt_name_2", "reprompt_name_2"]


def test_exhausted_callback_setting(resources) -> None:
    conv = conversation(resources, max_reprompts=0, exhausted_action="callback")
    decisions = conv.handle(NoInput(8))
    assert keys(decisions) == ["FileTicket"]
    assert (decisions[0].draft.outcome, decisions[0].draft.escalation) == (Outcome.partial, "callback")
    assert keys(conv.handle(TicketFiled("0000-0002"))) == ["callback", "goodbye", "EndCall"]


@pytest.mark.parametrize(
    ("confidence", "expected"),
    [(0.9, "ask_address"), (0.6, "check_name"), (0.3, "reprompt_name_1")],
)
def test_confidence_thresholds(resources, confidence: float, expected: str) -> None:
    conv = conversation(resources)
    assert keys(say(conv, "nguyễn văn an", confidence)) == [expected]


def test_confidence_thresholds_come_from_settings(resources) -> None:
    conv = conversation(resources, confidence_accept=0.5, confidence_confirm=0.2)
    assert keys(say(conv, "nguyễn văn an", 0.6)) == ["ask_address"]
    conv = conversation(resources, confidence_accept=0.5, confidence_confirm=0.2)
    assert keys(say(conv, "nguyễn văn an", 0.3)) == ["check_name"]


def test_check_question_is_yes_no_and_names_the_value(resources) -> None:
    conv = conversation(resources)
    (ask,) = say(conv, "nguyễn văn an", 0.6)
    assert ask.slot == "confirm" and "Nguyễn Văn An" in ask.text and "có" in ask.phrases
    assert keys(conv.handle(DtmfInput("2"))) == ["reprompt_name_1"]  # keypad 2 = no


def test_repeat_says_the_same_question_without_counting(resources) -> None:
    conv = conversation(resources)
    first = conv.last_ask
    for heard in ("nói lại", "chị nói lại được không ạ", "dạ nhắc lại giúp tôi"):
        assert conv.handle(FinalTranscript(heard)) == [first]
    assert conv.handle(DtmfInput("*")) == [first]
    assert keys(conv.handle(NoInput(8))) == ["reprompt_name_1"]


def test_repeat_inside_an_answer_is_an_answer(resources) -> None:
    conv = conversation(resources)
    fill_form(conv)
    (ask,) = say(conv, "tôi nói lại, tên tôi là nguyễn văn bình")  # a correction, not "say that again"
    assert ask.key == "readback" and "Nguyễn Văn Bình" in ask.text


def test_correction_in_readback(resources) -> None:
    conv = conversation(resources)
    fill_form(conv)
    (ask,) = say(conv, "không, tên tôi là nguyễn văn bình")
    assert ask.key == "readback" and "Nguyễn Văn Bình" in ask.text
    (ask,) = say(conv, "địa chỉ sai rồi")
    assert (ask.key, ask.slot) == ("reask_address", "address")
    (ask,) = say(conv, "phường láng")
    assert ask.key == "readback" and "Phường Láng" in ask.text
    (ask,) = conv.handle(DtmfInput("2"))
    assert ask.key == "ask_which_slot"
    (ask,) = conv.handle(DtmfInput("3"))
    assert ask.key == "reask_need"


def test_readback_limit_hands_over(resources) -> None:
    conv = conversation(resources, max_readbacks=1)
    fill_form(conv)
    decisions = say(conv, "không, tên tôi là nguyễn văn bình")
    assert keys(decisions) == ["exhausted_transfer", "FileTicket"]
    draft = decisions[1].draft
    assert (draft.outcome, draft.escalation, draft.name) == (Outcome.partial, "operator", "Nguyễn Văn Bình")
    assert draft.notes == [
        "caller corrected name (was: Nguyễn Văn An)",
        "read back 1 times without a confirmation",
    ]


def test_record_only_answers_skip_confirmation(resources) -> None:
    conv = conversation(resources)
    conv.handle(RecordedAnswer("/tmp/name.wav", 2.0))
    conv.handle(RecordedAnswer("/tmp/address.wav", 4.0))
    decisions = conv.handle(RecordedAnswer("/tmp/need.wav", 5.0))
    assert keys(decisions) == ["FileTicket"]
    draft = decisions[0].draft
    assert draft.outcome == Outcome.complete and draft.needs_transcription
    assert "address recorded: /tmp/address.wav" in draft.notes


def test_english_conversation(resources) -> None:
    conv = conversation(resources, locale="en")
    assert conv.last_ask.text.startswith("First, may I have your full name")
    (ask,) = say(conv, "my name is john smith")
    assert ask.key == "ask_address"
    (ask,) = say(conv, "forty two baker street")
    assert ask.key == "ask_need"  # English addresses are not asked for a ward
    (ask,) = say(conv, "i need rice")
    assert "42 baker street" in ask.text and "Say yes or press 1" in ask.text
    (file,) = say(conv, "yes")
    assert file.draft.address_text == "42 baker street, Thành phố Hà Nội" and file.draft.locale == "en"


def test_unknown_default_province_is_a_clear_error() -> None:
    with pytest.raises(UnknownProvince, match="Atlantis"):
        Conversation(Settings(default_province="Atlantis"), locale="vi", call_id="c")


def test_every_prompt_exists_in_both_locales() -> None:
    prompts_dir = REPO / "prompts"
    vi, en = load_prompts(prompts_dir, "vi"), load_prompts(prompts_dir, "en")
    assert set(vi.texts) == set(en.texts)
    for key in vi.texts:  # same placeholders in both languages
        assert vi.is_static(key) == en.is_static(key), key


CALLER_TURNS = st.one_of(
    st.sampled_from(
        [
            "tôi tên là nguyễn văn an", "phường láng", "ngõ ba quận đống đa", "phường tân an", "đúng rồi",
            "không", "địa chỉ sai rồi", "không, tên tôi là lê minh", "nói lại", "tôi cần hỗ trợ gạo", "???",
            "số mười hai xẹt ba", "my name is john smith", "yes", "the address is wrong", "xã", "quận",
        ]
    ).map(FinalTranscript),
    st.builds(FinalTranscript, st.text(max_size=40), st.floats(0, 1)),
    st.sampled_from("0123456789*#").map(DtmfInput),
    st.just(NoInput(8.0)),
)  # fmt: skip


@hypothesis_settings(max_examples=80, deadline=None)
@given(
    locale=st.sampled_from(["vi", "en"]),
    turns=st.lists(CALLER_TURNS, max_size=25),
    transfers_answered=st.booleans(),
)
def test_every_call_files_exactly_one_ticket_and_ends(resources, locale, turns, transfers_answered) -> None:
    """Whatever the caller does, the call ends with one ticket filed and one EndCall, and then stays quiet."""
    conv = Conversation(Settings(default_province=HANOI), locale=locale, call_id="p", resources=resources)
    decisions = conv.start()
    filed: list[FileTicket] = []
    ends: list[EndCall] = []

    def run(batch: list) -> None:
        replies = []
        for decision in batch:
            assert isinstance(decision, (Speak, Ask, FileTicket, Transfer, EndCall))
            if isinstance(decision, FileTicket):
                filed.append(decision)
                replies.append(TicketFiled("1234-5678"))
            elif isinstance(decision, Transfer):
                replies.append(TransferResult(transfers_answered))
            elif isinstance(decision, EndCall):
                ends.append(decision)
        for reply in replies:
            run(conv.handle(reply))

    run(decisions)
    for event in turns:
        if conv.ended:
            break
        run(conv.handle(event))
        assert conv.ended or isinstance(conv.last_ask, Ask)
    if not conv.ended:
        run(conv.handle(Hangup()))
    assert conv.ended and len(filed) == 1 and len(ends) == 1
    assert filed[0].draft.outcome in (Outcome.complete, Outcome.partial, Outcome.escalated)
    assert conv.handle(FinalTranscript("alo")) == [] and conv.handle(Hangup()) == []


# --- an anonymous caller (issue 14): a complete ticket without a name, flagged ``anonymous`` --------------
def anonymous_call(
    resources: DialogueResources, locale: str, turns: list[str]
) -> tuple[TicketDraft, list[str]]:
    conv = Conversation(
        Settings(default_province=HANOI), locale=locale, call_id="anon-1", resources=resources
    )
    said = [d.key for d in conv.start() if hasattr(d, "key")]
    filed: list[TicketDraft] = []
    for text in turns:
        for decision in conv.handle(FinalTranscript(text)):
            if isinstance(decision, FileTicket):
                filed.append(decision.draft)
            elif hasattr(decision, "key"):
                said.append(decision.key)  # type: ignore[union-attr]
    assert len(filed) == 1
    return filed[0], [k for k in said if k]


def test_declining_the_name_files_a_complete_anonymous_ticket(resources) -> None:
    draft, said = anonymous_call(
        resources, "vi",
        ["dạ tôi xin giấu tên", "số bốn phố huế phường hai bà trưng", "tôi muốn tố cáo đánh bạc", "đúng rồi"],
    )  # fmt: skip
    assert (draft.outcome, draft.name, draft.anonymous) == (Outcome.complete, None, True)
    assert said == ["greeting", "ask_name", "ask_address", "ask_need", "readback_anonymous"]
    assert "caller declined to give a name" in draft.notes


def test_the_read_back_says_the_name_was_withheld(resources) -> None:
    conv = Conversation(Settings(default_province=HANOI), locale="en", call_id="c", resources=resources)
    conv.start()
    conv.handle(FinalTranscript("i'd rather not give my name"))
    conv.handle(FinalTranscript("twelve lang street"))
    (ask,) = conv.handle(FinalTranscript("i want to report a scam"))
    assert ask.key == "readback_anonymous" and "anonymous" in ask.text and "12 lang street" in ask.text


def test_a_name_given_later_ends_anonymity(resources) -> None:
    draft, said = anonymous_call(
        resources, "vi",
        ["tôi xin giấu tên", "phường láng", "tôi cần hỗ trợ gạo", "thôi tên tôi là nguyễn văn an", "đúng rồi"],
    )  # fmt: skip
    assert (draft.name, draft.anonymous, draft.outcome) == ("Nguyễn Văn An", False, Outcome.complete)
    assert said[-2:] == ["readback_anonymous", "readback"]


def test_emergency_keeps_priority_over_anonymity(resources) -> None:
    draft, said = anonymous_call(resources, "vi", ["tôi xin giấu tên", "mẹ tôi bị ngất xỉu rồi"])
    assert (draft.outcome, draft.escalation, draft.category.value, draft.anonymous) == (
        Outcome.escalated, "emergency", "emergency", True,
    )  # fmt: skip
    assert said[-1] == "transfer_emergency"
