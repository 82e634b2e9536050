"""Reading one turn for every slot (callbot.dialogue.segments, repair, understanding, filling), and the two
properties of issue 14: the policy never asks for a slot it holds; a repaired value never keeps what was
repaired away."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from callbot.config import Settings
from callbot.dialogue import Conversation, DialogueResources
from callbot.dialogue.filling import ANY_CUE, take_aside
from callbot.dialogue.need import classify_need
from callbot.dialogue.repair import CONTRAST, REPAIR, mark_repairs, repaired
from callbot.dialogue.segments import cut_segments
from callbot.dialogue.state import DialogueState
from callbot.dialogue.text import fold, words
from callbot.dialogue.understanding import parse_name, read_turn
from callbot.types import Ask, Category, FinalTranscript, Priority, Question

HANOI = "Thành phố Hà Nội"


@pytest.fixture(scope="module")
def resources() -> DialogueResources:
    return DialogueResources(Settings(default_province=HANOI))


def read(text: str, question: str | None, resources: DialogueResources, locale: str = "vi"):
    ctx = resources.context(locale)
    return read_turn(text, Question(question) if question else None, ctx.lexicon, ctx.gazetteer,
                     ctx.config.default_province)


def shape(text: str, lexicon, lead: str | None = "name") -> list[tuple[str, str, str]]:
    return [(s.slot, s.cue, " ".join(s.words)) for s in cut_segments(text, lexicon, lead)]


# --- segments -------------------------------------------------------------------------------------------
def test_an_over_answer_is_cut_at_its_cues(lexicon_vi) -> None:
    heard = "tôi là nguyễn thị hoa ở số mười lăm ngõ tám phường kim liên nhà tôi cần hỗ trợ gạo"
    assert shape(heard, lexicon_vi) == [
        ("name", "weak", "nguyễn thị hoa"),
        ("address", "weak", "số mười lăm ngõ tám phường kim liên"),  # markers stay inside the address
        ("need", "strong", "hỗ trợ gạo"),
    ]


def test_the_lead_answers_the_question_asked(lexicon_vi) -> None:
    assert shape("mười hai ngõ ba phường láng", lexicon_vi, "address") == [
        ("address", "lead", "mười hai ngõ ba phường láng")
    ]
    assert shape("dạ nguyễn văn an", lexicon_vi, "name") == [("name", "lead", "dạ nguyễn văn an")]
    assert shape("dạ nguyễn văn an", lexicon_vi, None) == []  # the read-back has no lead slot


@pytest.mark.parametrize(
    ("heard", "slots"),
    [
        ("tôi ở một mình", [("address", "strong")]),  # "tôi ở" names an address (filling checks it)
        ("tôi cần thuốc cho bà ở nhà", [("need", "strong")]),  # "ở nhà" is no address
        ("tôi cần gạo cho cả xóm", [("need", "strong")]),  # "xóm" inside a need stays the need
        ("bà nội tôi là người già cần thuốc", [("need", "weak")]),  # "tôi là" inside a need is not a name
        ("xã cần giờ", [("address", "bare")]),  # a place name, not the need word "cần"
    ],
)
def test_cues_inside_a_segment(heard: str, slots: list, lexicon_vi) -> None:
    assert [
        (s.slot, s.cue) for s in cut_segments(heard, lexicon_vi, None, lambda t, i: t[i] == "cần")
    ] == slots


def test_relations_and_roles_are_not_names(lexicon_vi, lexicon_en) -> None:
    assert shape("tôi là mẹ của cháu an tôi tên là trần thị mai", lexicon_vi)[-1] == (
        "name",
        "strong",
        "trần thị mai",
    )
    assert shape("tôi là mẹ của cháu an", lexicon_vi)[0][0] == "role"
    assert shape("con tôi tên là nguyễn văn bình", lexicon_vi)[-1][0] == "role"  # the child's name
    assert shape("anh ơi tôi tên là lê minh", lexicon_vi) == [("name", "strong", "lê minh")]  # a vocative
    assert shape("tôi là ông văn thái", lexicon_vi) == [("name", "weak", "ông văn thái")]  # Ông, a surname
    assert shape("my mother's name is lan", lexicon_en)[-1][0] == "role"


def test_anonymity_outranks_the_carrier_it_overlaps(lexicon_vi) -> None:
    assert shape("tôi xin giấu tên", lexicon_vi) == [("name", "lead", "tôi"), ("anonymous", "strong", "")]


# --- repairs --------------------------------------------------------------------------------------------
def test_repair_markers_and_their_exceptions(lexicon_vi, lexicon_en) -> None:
    assert mark_repairs(words("hùng à không hưng"), lexicon_vi) == ["hùng", REPAIR, "hưng"]
    assert mark_repairs(words("thuốc chứ không phải gạo"), lexicon_vi) == ["thuốc", CONTRAST, "gạo"]
    for everyday in ("tôi chuyển nhầm tiền", "nhà tôi à không có gì ăn", "không phải trả tiền"):
        assert REPAIR not in mark_repairs(words(everyday), lexicon_vi), everyday
    assert REPAIR not in mark_repairs(words("sorry to bother you"), lexicon_en)


@pytest.mark.parametrize(
    ("slot", "heard", "kept"),
    [
        ("name", "nguyễn văn hùng <r> nguyễn văn hưng", "nguyễn văn hưng"),
        ("name", "nguyễn văn hùng <r> hưng", "nguyễn văn hưng"),  # one word that sounds like one said
        ("name", "nguyễn văn hùng <r> lan", "lan"),  # unlike any: the repair is the whole name
        (
            "address",
            "số năm đường trần phú phường hải châu <r> phường hòa cường",
            "số năm đường trần phú phường hòa cường",
        ),
        ("address", "số mười hai ngõ năm <r> bảy phường láng", "số mười hai ngõ bảy phường láng"),
        ("address", "số hai mươi mốt <r> số hai mươi bảy ngõ chợ", "số hai mươi bảy ngõ chợ"),
        ("need", "gạo <r> thuốc cho mẹ", "thuốc cho mẹ"),
        ("need", "thuốc cho mẹ <c> gạo", "thuốc cho mẹ"),
        ("name", "<r> lê minh", "lê minh"),  # nothing before: the marker is only a hesitation
        ("name", "a <r> b <r> lê văn c", "lê văn c"),
    ],
)
def test_repaired(slot: str, heard: str, kept: str, lexicon_vi) -> None:
    tokens = [REPAIR if w == "<r>" else CONTRAST if w == "<c>" else w for w in heard.split()]
    assert " ".join(repaired(tokens, slot, lexicon_vi)) == kept


@pytest.mark.parametrize(
    ("locale", "heard", "name"),
    [
        ("vi", "tôi tên là nguyễn văn hùng à không nguyễn văn hưng", "Nguyễn Văn Hưng"),
        ("vi", "tên tôi là phạm văn lợi ý tôi là phạm văn lộc", "Phạm Văn Lộc"),
        ("vi", "họ tên tôi là bùi thị thanh hương", "Bùi Thị Thanh Hương"),
        ("vi", "họ và tên của tôi là phan văn đạt", "Phan Văn Đạt"),
        ("vi", "dạ cháu tên là hoàng minh đức ạ", "Hoàng Minh Đức"),
        ("vi", "em tên trần ngọc hân", "Trần Ngọc Hân"),
        ("vi", "tui tên hồ văn sang", "Hồ Văn Sang"),
        ("vi", "tôi là mẹ của cháu nguyễn minh khang tôi tên là trần thị mai", "Trần Thị Mai"),
        ("en", "my name is ann lee sorry anne with an e", "Anne Lee"),
        ("en", "this is jenny wong no it's jenny huang", "Jenny Huang"),
        ("en", "hi i'm calling for my father my name is susan clark", "Susan Clark"),
        ("en", "yes hello it's maria garcia speaking", "Maria Garcia"),
    ],
)
def test_names_as_callers_say_them(locale: str, heard: str, name: str, request) -> None:
    assert parse_name(heard, request.getfixturevalue(f"lexicon_{locale}")) == name


@pytest.mark.parametrize("heard", ["tôi xin giấu tên", "tôi xin phép giấu tên", "họ tên tôi là"])
def test_carrier_words_never_become_a_name(heard: str, lexicon_vi) -> None:
    assert parse_name(heard, lexicon_vi) is None  # the old "Tôi Xin Phép Giấu Tên"


# --- the reading ----------------------------------------------------------------------------------------
def test_read_turn_gives_every_slot(resources) -> None:
    reading = read("em là lê thị thu ở ngõ năm mươi hai phố khâm thiên em cần xin ít gạo", "name", resources)
    assert reading.name.value == "Lê Thị Thu" and reading.name.cue == "weak"
    assert (
        reading.address.value.status == "no_ward" and reading.address.value.street == "ngõ 52 phố khâm thiên"
    )
    assert (reading.need.value.text, reading.need.value.category) == (
        "em cần xin ít gạo",
        Category.essential_supplies,
    )
    assert not reading.anonymous


def test_a_problem_instead_of_a_name_is_a_need(resources) -> None:
    reading = read("con tôi bị sốt cao từ tối qua", "name", resources)
    assert reading.name is None and reading.need.value.priority == Priority.high
    assert read("xin chào", "name", resources).need is None  # no branch named: nothing


def test_anonymity_after_a_name_wins_and_a_name_after_it_too(resources) -> None:
    assert read("tôi là lê minh nhưng xin giấu tên", "name", resources).anonymous
    later = read("tôi xin giấu tên à thôi tôi tên là lê minh", "name", resources)
    assert not later.anonymous and later.name.value == "Lê Minh"


def test_unsure_reading_keeps_to_the_question(resources) -> None:
    reading = read("tôi là lê minh ở phường láng tôi cần gạo", "name", resources).only(Question.name)
    assert reading.name.value == "Lê Minh" and reading.address is None and reading.need is None


@pytest.mark.parametrize(
    ("heard", "category"),
    [
        ("tôi cần thuốc huyết áp cho mẹ tôi là người già neo đơn", Category.medical_advice),
        ("nhà tôi không có tiền mua gạo", Category.essential_supplies),
        ("có người bán thuốc giả", Category.violation_report),
        ("tôi muốn phản ánh về nhà văn hóa", Category.violation_report),  # a fallback word decides alone
        ("tôi muốn phản ánh nhà tôi hết gạo", Category.essential_supplies),  # ...but never over a keyword
        ("tôi cần hỗ trợ tiền vì bị mất việc", Category.social_welfare),
    ],
)
def test_category_precedence(heard: str, category: Category, lexicon_vi) -> None:
    assert classify_need(heard, lexicon_vi).category == category


# --- filling --------------------------------------------------------------------------------------------
def test_take_aside_fills_empty_slots_and_replaces_only_on_explicit_words(resources) -> None:
    ctx = resources.context("vi")
    state = DialogueState(call_id="c", locale="vi", name="Nguyễn Văn Tư")
    weak = take_aside(
        state, read("tôi là nguyễn văn tứ ở phường láng", "need", resources), ctx.lexicon, asked="need"
    )
    assert weak.state.name == "Nguyễn Văn Tư" and weak.new == ("address",)
    strong = take_aside(state, read("tên tôi là nguyễn văn tứ", "need", resources), ctx.lexicon, asked="need")
    assert strong.state.name == "Nguyễn Văn Tứ" and strong.changed == ("name",)
    assert "caller corrected name (was: Nguyễn Văn Tư)" in strong.state.notes
    bare = take_aside(state, read("số mười hai", "name", resources), ctx.lexicon, asked="name")
    assert not bare.progress  # a bare house number said aside is no address
    aside = take_aside(state, read("tôi muốn giữ", "name", resources), ctx.lexicon, asked="name")
    assert not aside.progress  # a carrier and one word is no need


def test_a_ward_only_correction_keeps_the_street(resources) -> None:
    ctx = resources.context("vi")
    state = DialogueState(call_id="c", locale="vi")
    filled = take_aside(
        state, read("nhà tôi ở số bốn ngõ hai phường láng", None, resources), ctx.lexicon, asked=None
    )
    fixed = take_aside(
        filled.state,
        read("sai rồi phường kim liên", None, resources),
        ctx.lexicon,
        asked=None,
        replace_cues=ANY_CUE,
    )
    assert fixed.state.address.spoken() == "số 4 ngõ 2, Phường Kim Liên, Thành phố Hà Nội"


# --- properties -----------------------------------------------------------------------------------------
SURNAMES = [
    "nguyễn",
    "trần",
    "lê",
    "phạm",
    "hoàng",
    "phan",
    "vũ",
    "võ",
    "đặng",
    "bùi",
    "đỗ",
    "hồ",
    "ngô",
    "dương",
]
MIDDLES = ["văn", "thị", "hữu", "đức", "minh", "ngọc", "thanh", "quốc"]
GIVEN = ["an", "bình", "cường", "dũng", "giang", "hải", "hạnh", "hoa", "hùng", "khoa", "lan", "linh", "long",
         "mai", "nam", "nga", "phúc", "quang", "sơn", "tâm", "thảo", "trang", "tuấn", "vy"]  # fmt: skip
FULL_NAME = st.tuples(st.sampled_from(SURNAMES), st.sampled_from(MIDDLES), st.sampled_from(GIVEN)).map(list)
VI_CARRIERS = ["tôi tên là", "tên tôi là", "họ tên tôi là", "em tên là", "dạ tôi là", ""]


@hypothesis_settings(max_examples=150, deadline=None)
@given(first=FULL_NAME, second=FULL_NAME, carrier=st.sampled_from(VI_CARRIERS), data=st.data())
def test_a_repaired_name_never_keeps_the_part_before_the_repair(
    first, second, carrier, data, lexicon_vi
) -> None:
    assume(not {fold(w) for w in first} & {fold(w) for w in second})
    marker = data.draw(st.sampled_from(lexicon_vi.repairs.phrases))
    name = parse_name(f"{carrier} {' '.join(first)} {marker} {' '.join(second)}", lexicon_vi)
    assert name is not None and [fold(w) for w in words(name)] == [fold(w) for w in second]


VI_DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]


def vi_number(n: int) -> str:
    """1..199 as a Vietnamese caller says it (the test's own reference, independent of numerals.py)."""
    hundreds, rest = divmod(n, 100)
    tens, unit = divmod(rest, 10)
    said = [f"{VI_DIGITS[hundreds]} trăm"] if hundreds else []
    if tens == 0 and unit:
        said.append(f"linh {VI_DIGITS[unit]}" if hundreds else VI_DIGITS[unit])
    elif tens == 1:
        said.append("mười" + {0: "", 5: " lăm"}.get(unit, f" {VI_DIGITS[unit]}"))
    elif tens:
        said.append(
            f"{VI_DIGITS[tens]} mươi"
            + {0: "", 1: " mốt", 4: " tư", 5: " lăm"}.get(unit, f" {VI_DIGITS[unit]}")
        )
    return " ".join(said)


@hypothesis_settings(max_examples=100, deadline=None)
@given(
    before=st.integers(11, 99), after=st.integers(101, 199), lane=st.integers(2, 9),
    marker=st.sampled_from(["à không", "nhầm", "à nhầm", "xin lỗi", "ý tôi là", "không phải"]),
)  # fmt: skip
def test_a_repaired_address_never_keeps_the_number_before_the_repair(
    before, after, lane, marker, resources
) -> None:
    ctx = resources.context("vi")
    heard = f"số {vi_number(before)} {marker} số {vi_number(after)} ngõ {vi_number(lane)} phường láng"
    reading = read_turn(heard, Question.address, ctx.lexicon, ctx.gazetteer, ctx.config.default_province)
    street = reading.address.value.street
    assert street == f"số {after} ngõ {lane}" and str(before) not in street.split()


CALLER_TURNS = st.sampled_from(
    [
        "tôi là nguyễn thị hoa ở số mười lăm ngõ tám phường kim liên nhà tôi cần hỗ trợ gạo",
        "tôi cần hỗ trợ thực phẩm", "con tôi bị sốt cao", "nhà tôi ở phường láng", "tôi xin giấu tên",
        "tên tôi là lê minh", "tôi là trần văn an", "số mười hai", "ngõ năm phố khâm thiên", "quận đống đa",
        "phường kim liên", "đúng rồi", "không", "địa chỉ sai rồi phải là phường bạch mai", "sai tên rồi",
        "tôi tên là hùng à không hưng", "tôi không muốn nói tên", "à tên tôi là phạm văn long tôi cần thuốc",
        "họ tên", "nội dung", "hi this is linda nguyen i live at twenty five hang bai street and we need rice",
        "i'd rather not give my name", "my name is ann lee sorry anne", "yes", "no", "???",
    ]
).map(FinalTranscript)  # fmt: skip


@hypothesis_settings(max_examples=120, deadline=None)
@given(locale=st.sampled_from(["vi", "en"]), turns=st.lists(CALLER_TURNS, max_size=14))
def test_the_policy_never_asks_for_a_slot_it_holds(resources, locale, turns) -> None:
    conv = Conversation(Settings(default_province=HANOI), locale=locale, call_id="p", resources=resources)
    conv.start()
    for event in turns:
        if conv.ended or conv.state.phase != "asking":
            break
        for decision in conv.handle(event):
            if isinstance(decision, Ask) and decision.slot in ("name", "address", "need"):
                assert not conv.state.filled(decision.slot), (decision.key, conv.state)
            if isinstance(decision, Ask) and decision.slot == "ward":
                assert conv.state.address is None, (decision.key, conv.state)
