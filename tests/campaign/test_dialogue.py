"""A campaign call's dialogue in text: the message, the keypad menu, voice replies in both languages, retries
and the outcome, carried out by the one DecisionInterpreter with simulated effects."""

from __future__ import annotations

import pytest

from callbot.call.effects import SimulatedCall, SimulatedEffects
from callbot.campaign.dialogue import Message, NotificationDialogue, NotifyContext, spoken_reply
from callbot.config import Settings
from callbot.dialogue import DialogueResources
from callbot.types import Ask, ContactStatus, DtmfInput, FinalTranscript, Hangup, NoInput, Speak


@pytest.fixture(scope="module")
def resources() -> DialogueResources:
    return DialogueResources(Settings())


def call(resources: DialogueResources, locale: str = "vi", name: str | None = None,
         operators_free: bool = True) -> tuple[NotificationDialogue, SimulatedCall]:
    loaded = resources.locale(locale)
    ctx = NotifyContext(loaded.prompts, loaded.lexicon, Message("Lịch tiêm chủng thay đổi.", locale="vi"), name)
    dialogue = NotificationDialogue(ctx)
    simulated = SimulatedCall(dialogue, SimulatedEffects(operators_free=operators_free))  # type: ignore[arg-type]
    simulated.start()
    return dialogue, simulated


def keys(simulated: SimulatedCall) -> list[str | None]:
    return [line.key for line in simulated.effects.transcript if line.speaker == "bot"]


def test_message_menu_and_confirm_by_keypad(resources: DialogueResources) -> None:
    dialogue, simulated = call(resources)
    assert keys(simulated) == [None, "campaign_menu"]
    first = simulated.effects.transcript[0]
    assert first.text == "Lịch tiêm chủng thay đổi."
    simulated.caller(DtmfInput("1"))
    assert dialogue.state.outcome == ContactStatus.confirmed and dialogue.state.digits == "1"
    assert keys(simulated)[-1] == "campaign_thanks" and simulated.ended


def test_repeat_then_confirm_keeps_every_key(resources: DialogueResources) -> None:
    dialogue, simulated = call(resources, name="Nguyễn Văn An")
    simulated.caller(DtmfInput("2"))
    simulated.caller(DtmfInput("1"))
    assert keys(simulated) == ["campaign_hello", None, "campaign_menu", None, "campaign_menu", "campaign_thanks"]
    assert dialogue.state.digits == "21" and dialogue.state.plays == 2 and dialogue.state.outcome == "confirmed"


def test_message_is_cached_and_not_interruptible_by_speech(resources: DialogueResources) -> None:
    dialogue = NotificationDialogue(NotifyContext(resources.locale("vi").prompts, resources.locale("vi").lexicon,
                                                  Message("Thông báo.")))
    message, menu = dialogue.start()
    assert isinstance(message, Speak) and message.cached and not message.barge_in and message.recording is None
    assert isinstance(menu, Ask) and menu.dtmf_digits == 1 and not menu.barge_in and menu.phrases
    recorded = NotificationDialogue(NotifyContext(resources.locale("vi").prompts, resources.locale("vi").lexicon,
                                                  Message("", recording="/data/campaigns/x.wav")))
    said = recorded.start()[0]
    assert isinstance(said, Speak) and said.recording == "/data/campaigns/x.wav" and not said.cached


def test_silence_gets_one_retry_then_goodbye(resources: DialogueResources) -> None:
    dialogue, simulated = call(resources)
    simulated.caller(NoInput(6))
    simulated.caller(NoInput(6))
    assert keys(simulated)[-2:] == ["campaign_menu_retry", "campaign_goodbye"]
    assert dialogue.state.outcome == ContactStatus.answered_no_confirm and simulated.ended


def test_operator_and_nobody_free(resources: DialogueResources) -> None:
    dialogue, simulated = call(resources, operators_free=False)
    simulated.caller(DtmfInput("0"))
    assert simulated.effects.transfers == ["operator"]
    assert keys(simulated)[-2:] == ["transfer_operator", "campaign_no_operator"]
    assert dialogue.state.outcome == ContactStatus.answered_no_confirm and dialogue.state.digits == "0"


def test_plays_are_bounded(resources: DialogueResources) -> None:
    dialogue, simulated = call(resources)
    for _ in range(4):
        simulated.caller(DtmfInput("2"))
    assert dialogue.state.plays == 3 and keys(simulated).count(None) == 3


def test_hangup_before_confirming(resources: DialogueResources) -> None:
    dialogue, simulated = call(resources)
    simulated.caller(Hangup())
    assert dialogue.ended and dialogue.state.outcome == ContactStatus.answered_no_confirm


@pytest.mark.parametrize(("locale", "text", "reply"), [
    ("vi", "có", "confirm"), ("vi", "dạ nghe rồi ạ", "confirm"), ("vi", "tôi đã nghe", "confirm"),
    ("vi", "nhắc lại đi", "repeat"), ("vi", "nghe lại", "repeat"), ("vi", "cho tôi gặp tổng đài viên", "operator"),
    ("vi", "không đúng", None), ("vi", "alô ai đấy", None), ("vi", "", None),
    ("en", "yes", "confirm"), ("en", "got it thanks", "confirm"), ("en", "repeat please", "repeat"),
    ("en", "can i speak to an operator", "operator"), ("en", "no", None),
])
def test_voice_replies(resources: DialogueResources, locale: str, text: str, reply: str | None) -> None:
    assert spoken_reply(text, resources.locale(locale).lexicon) == reply


def test_voice_confirm_in_english(resources: DialogueResources) -> None:
    dialogue, simulated = call(resources, locale="en")
    simulated.caller(FinalTranscript("yes I heard it"))
    assert dialogue.state.outcome == ContactStatus.confirmed and keys(simulated)[-1] == "campaign_thanks"
