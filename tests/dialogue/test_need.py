"""Needs: the caller's words, a category and a priority (callbot.dialogue.need)."""

from __future__ import annotations

import pytest

from callbot.dialogue.need import classify_need
from callbot.types import Category, Priority
from tests.support import REPO


@pytest.mark.parametrize(
    ("locale", "heard", "category", "priority"),
    [
        ("vi", "tôi cần hỗ trợ gạo và thực phẩm", Category.essential_supplies, Priority.normal),
        ("vi", "nhà tôi hết gạo không có gì ăn", Category.essential_supplies, Priority.high),
        ("vi", "con tôi bị sốt cao và ho", Category.medical_advice, Priority.high),
        ("vi", "tôi cần tư vấn tiêm vắc xin", Category.medical_advice, Priority.normal),
        ("vi", "tôi muốn phản ánh hàng xóm hát karaoke ồn ào", Category.violation_report, Priority.normal),
        ("vi", "có người lấn chiếm vỉa hè xây dựng trái phép", Category.violation_report, Priority.normal),
        ("vi", "tôi là người khuyết tật cần trợ cấp", Category.social_welfare, Priority.normal),
        ("vi", "tôi cần hỗ trợ tiền vì bị mất việc", Category.social_welfare, Priority.normal),
        ("vi", "tôi muốn hỏi về thủ tục làm căn cước", Category.other, Priority.normal),
        ("vi", "bố tôi khó thở", Category.emergency, Priority.high),
        ("en", "i need food and drinking water", Category.essential_supplies, Priority.normal),
        ("en", "my son has a high fever", Category.medical_advice, Priority.high),
        ("en", "i want to report a scam", Category.violation_report, Priority.normal),
        ("en", "i lost my job and need financial support", Category.social_welfare, Priority.normal),
        ("en", "i have a question about my passport", Category.other, Priority.normal),
    ],
)
def test_needs(locale: str, heard: str, category: Category, priority: Priority, request) -> None:
    reading = classify_need(heard, request.getfixturevalue(f"lexicon_{locale}"))
    assert reading is not None
    assert (reading.category, reading.priority) == (category, priority)
    assert reading.text == heard  # the caller's own words are kept


@pytest.mark.parametrize("heard", ["không", "vâng ạ"])
def test_a_bare_yes_or_no_is_not_a_need(heard: str, lexicon_vi) -> None:
    assert classify_need(heard, lexicon_vi) is None


@pytest.mark.parametrize("heard", ["", "à ờ", "tôi không biết"])
def test_nothing_usable(heard: str, lexicon_vi) -> None:
    assert classify_need(heard, lexicon_vi) is None


def test_categories_are_data(tmp_path, lexicon_vi) -> None:
    """A deployment can retune the lexicon without code: a new keyword changes the category."""
    import shutil

    from callbot.dialogue.lexicon import load_lexicon

    source = REPO / "prompts" / "vi"
    target = tmp_path / "vi"
    shutil.copytree(source, target)
    needs = (target / "needs.yaml").read_text(encoding="utf-8")
    (target / "needs.yaml").write_text(needs.replace("[tố cáo,", "[căn cước, tố cáo,"), encoding="utf-8")
    tuned = load_lexicon(tmp_path, "vi")
    heard = "tôi muốn hỏi về thủ tục làm căn cước"
    assert classify_need(heard, lexicon_vi).category == Category.other
    assert classify_need(heard, tuned).category == Category.violation_report
