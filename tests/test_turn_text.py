"""The text signal of the end of turn: the words so far against what the question expects (pure, no audio)."""

from __future__ import annotations

import pytest

from callbot.config import Settings
from callbot.dialogue.asking import ask
from callbot.dialogue.resources import DialogueResources
from callbot.dialogue.state import DialogueState
from callbot.turn_text import AnswerText, Expectation, TextVerdict
from callbot.types import Ask, Question

COMPLETE, INCOMPLETE, UNKNOWN, EMERGENCY = (TextVerdict.complete, TextVerdict.incomplete, TextVerdict.unknown,
                                             TextVerdict.emergency)


@pytest.fixture(scope="module")
def resources() -> DialogueResources:
    return DialogueResources(Settings(default_province="Hà Nội"))


@pytest.fixture(scope="module")
def text(resources: DialogueResources) -> AnswerText:
    return AnswerText(resources.locale("vi").lexicon)


def asked(resources: DialogueResources, question: str, key: str) -> Ask:
    """The question as the real policy asks it."""
    context = resources.context("vi")
    return ask(DialogueState("t", "vi"), context, Question(question), key, name="", address="", need="")[1][0]


def expect(resources: DialogueResources, question: str, key: str) -> Expectation:
    return Expectation.of(asked(resources, question, key), resources.locale("vi").lexicon)


@pytest.mark.parametrize(("words", "verdict"), [
    ("", UNKNOWN),
    ("tôi tên là", INCOMPLETE),  # the carrier, and the name still to come
    ("tôi tên là nguyễn", INCOMPLETE),  # one syllable is not a name
    ("nguyễn văn", INCOMPLETE),  # a name never ends on its middle name
    ("lê thị", INCOMPLETE),
    ("nguyễn an", UNKNOWN),  # two syllables: a whole name, or the start of one
    ("tôi tên là nguyễn văn an", COMPLETE),
    ("dạ em tên là trần thị thu hà ạ", COMPLETE),
    ("tôi xin giấu tên", COMPLETE),
    ("tôi tên là an ở phường", INCOMPLETE),  # the place name comes next
    ("tên tôi là ờ", INCOMPLETE),  # still looking for words
])
def test_names(resources: DialogueResources, text: AnswerText, words: str, verdict: TextVerdict) -> None:
    assert text.verdict(words, expect(resources, "name", "ask_name")) is verdict


@pytest.mark.parametrize(("words", "verdict"), [
    ("số mười hai", INCOMPLETE),  # a house number is never the whole address
    ("số mười hai ngõ ba mươi", INCOMPLETE),  # "ba mươi" ... "tư"
    ("ngõ một trăm", INCOMPLETE),
    ("nhà tôi ở số", INCOMPLETE),
    ("số mười hai ngõ ba mươi tư phố", INCOMPLETE),  # a street marker waits for its name
    ("số mười hai ngõ ba mươi tư phố huế", UNKNOWN),  # a street, and maybe a ward to come: the model decides
    ("số mười hai phố huế phường hai bà trưng", COMPLETE),  # a ward of the province closes it
    ("phố hàng bông phường hoàn", INCOMPLETE),  # part-way into "phường hoàn kiếm"
    ("phố hàng bông phường hoàn kiếm", COMPLETE),
    ("số năm đường trần phú và", INCOMPLETE),
])
def test_addresses_against_the_province_s_wards(resources: DialogueResources, text: AnswerText, words: str,
                                                verdict: TextVerdict) -> None:
    address = expect(resources, "address", "ask_address")
    assert address.choices is not None  # the policy gave the address question the province's wards
    assert text.verdict(words, address) is verdict


def test_an_address_without_a_known_province_ends_on_any_named_ward(text: AnswerText) -> None:
    address = Expectation("address")
    assert text.verdict("số năm phường đống đa", address) is COMPLETE
    assert text.verdict("số năm phường", address) is INCOMPLETE


@pytest.mark.parametrize(("words", "verdict"), [
    ("đúng rồi", COMPLETE), ("vâng ạ", COMPLETE), ("không", COMPLETE), ("ờ không phải", COMPLETE),
    ("dạ", INCOMPLETE),  # opens the reply: the yes, the no or a correction follows
    ("ờ", INCOMPLETE),
    ("tôi muốn hỏi", UNKNOWN),
])
def test_yes_no(resources: DialogueResources, text: AnswerText, words: str, verdict: TextVerdict) -> None:
    assert text.verdict(words, expect(resources, "readback", "readback")) is verdict


@pytest.mark.parametrize(("words", "verdict"), [
    ("phường", INCOMPLETE), ("phường hai", INCOMPLETE), ("phường hai bà trưng", COMPLETE), ("ba đình", COMPLETE),
    ("gia lâm", COMPLETE), ("chỗ chợ", UNKNOWN),
])
def test_a_ward_that_resolves(resources: DialogueResources, text: AnswerText, words: str,
                              verdict: TextVerdict) -> None:
    assert text.verdict(words, expect(resources, "ward", "ask_ward")) is verdict


@pytest.mark.parametrize(("words", "verdict"), [
    ("một hai ba bốn", INCOMPLETE), ("một hai ba bốn năm sáu bảy", INCOMPLETE),
    ("một hai ba bốn năm sáu bảy tám", COMPLETE), ("số của tôi là", UNKNOWN), ("hai mươi", INCOMPLETE),
])
def test_a_keypad_entry_said_aloud(text: AnswerText, words: str, verdict: TextVerdict) -> None:
    ticket = Expectation.of(Ask("", slot="ticket", dtmf_digits=8), text.lexicon)
    assert ticket.kind == "digits"
    assert text.verdict(words, ticket) is verdict


@pytest.mark.parametrize(("words", "verdict"), [
    ("tôi cần", INCOMPLETE), ("cho tôi hỏi", INCOMPLETE), ("con tôi bị", INCOMPLETE),
    ("tôi cần hỗ trợ gạo và", INCOMPLETE), ("tôi cần hỗ trợ gạo", UNKNOWN), ("tôi cần hỗ trợ gạo ạ", COMPLETE),
    ("tôi cần hai mươi", INCOMPLETE),
])
def test_needs(resources: DialogueResources, text: AnswerText, words: str, verdict: TextVerdict) -> None:
    assert text.verdict(words, expect(resources, "need", "ask_need")) is verdict


def test_an_emergency_phrase_outranks_everything(resources: DialogueResources, text: AnswerText) -> None:
    for question, key in (("name", "ask_name"), ("address", "ask_address"), ("readback", "readback")):
        assert text.verdict("bố tôi khó thở và", expect(resources, question, key)) is EMERGENCY


def test_english_words_come_from_the_english_lexicon(resources: DialogueResources) -> None:
    english = AnswerText(resources.locale("en").lexicon)
    name = Expectation("name")
    assert english.verdict("my name is", name) is INCOMPLETE
    assert english.verdict("my name is john smith", name) is COMPLETE
    assert english.verdict("i live at twenty one baker street", Expectation("address")) is UNKNOWN  # no marker rule
    assert english.verdict("yes", Expectation("yes_no")) is COMPLETE
    assert english.verdict("uh", Expectation("yes_no")) is INCOMPLETE
