"""Text preparation: numbers, phone and ticket numbers, abbreviations, sentence cutting (unit tests)."""

import pytest

from callbot.tts.textprep import en_number, prepare, split_sentences, vi_number


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (31, "ba mươi mốt"),
        (100, "một trăm"),
        (101, "một trăm linh một"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (115, "một trăm mười lăm"),
        (124, "một trăm hai mươi tư"),
        (1000, "một nghìn"),
        (1005, "một nghìn không trăm linh năm"),
        (2024, "hai nghìn không trăm hai mươi tư"),
        (15000, "mười lăm nghìn"),
        (1000100, "một triệu một trăm"),
        (2500000, "hai triệu năm trăm nghìn"),
        (3000000000, "ba tỷ"),
    ],
)
def test_vietnamese_numbers(number: int, words: str) -> None:
    assert vi_number(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (21, "twenty-one"),
        (105, "one hundred five"),
        (2024, "two thousand twenty-four"),
        (1000001, "one million one"),
    ],
)
def test_english_numbers(number: int, words: str) -> None:
    assert en_number(number) == words


def test_ticket_number_is_read_in_groups_of_digits() -> None:
    assert prepare("Số phiếu là 1234-5678.", "vi") == "Số phiếu là một hai ba bốn, năm sáu bảy tám."
    assert (
        prepare("Your ticket is 4071-0025.", "en")
        == "Your ticket is four zero seven one, zero zero two five."
    )


@pytest.mark.parametrize(
    "written",
    ["0912345678", "0912 345 678", "0912.345.678", "091-234-5678", "+84 912 345 678", "+84912345678"],
)
def test_phone_numbers_are_read_digit_by_digit(written: str) -> None:
    spoken = prepare(f"Gọi {written} nhé", "vi")
    digits = spoken.removeprefix("Gọi ").removesuffix(" nhé").replace(",", "").split()
    assert digits == ["không", "chín", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám"]


def test_hotline_numbers_after_a_dialling_word_are_digits_but_counts_are_numbers() -> None:
    assert prepare("Tổng đài 1022 nhận 1022 cuộc gọi", "vi") == (
        "Tổng đài một không hai hai nhận một nghìn không trăm hai mươi hai cuộc gọi"
    )


def test_vietnamese_address_abbreviations() -> None:
    spoken = prepare("Nhà 12/3 P. Đống Đa, Q. Ba Đình, TP. Hà Nội; UBND TP.HCM", "vi")
    assert spoken == (
        "Nhà mười hai trên ba phường Đống Đa, quận Ba Đình, thành phố Hà Nội; ủy ban nhân dân thành phố Hồ Chí Minh"
    )


def test_grouped_and_decimal_numbers_follow_the_locale() -> None:
    assert (
        prepare("1.500.000 đ, 3,5 kg, 50%", "vi")
        == "một triệu năm trăm nghìn đồng, ba phẩy năm kg, năm mươi phần trăm"
    )
    assert (
        prepare("2,500 dollars and 3.5 miles", "en")
        == "two thousand five hundred dollars and three point five miles"
    )


def test_leading_zero_numbers_are_identifiers() -> None:
    assert prepare("Hẻm 007", "vi") == "Hẻm không không bảy"


def test_english_abbreviations() -> None:
    assert prepare("Dr. Lee lives at 12 Main St. now", "en") == "Doctor Lee lives at twelve Main Street now"


def test_unknown_locale_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported locale"):
        prepare("hello", "fr")


def test_sentences_are_split_and_long_ones_cut_at_commas() -> None:
    assert split_sentences("Xin chào. Bạn cần gì? Cảm ơn!") == ["Xin chào.", "Bạn cần gì?", "Cảm ơn!"]
    long = ", ".join(["một hai ba bốn năm sáu bảy tám chín mười"] * 12) + "."
    pieces = split_sentences(long, max_chars=100)
    assert len(pieces) > 1 and all(len(p) <= 100 for p in pieces)
    assert " ".join(pieces) == long
    assert split_sentences("  ...  ") == []


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("gọi ngay số 115 để được cấp cứu", "gọi ngay số một một năm để được cấp cứu"),
        ("chuyển tới cấp cứu 115", "chuyển tới cấp cứu một một năm"),
        ("có 113 người", "có một trăm mười ba người"),
        ("số 113 là công an", "số một một ba là công an"),
    ],
)
def test_emergency_numbers_are_digits_where_they_are_dialled(written: str, spoken: str) -> None:
    assert prepare(written, "vi") == spoken


def test_english_dialled_numbers_and_counts() -> None:
    assert (
        prepare("she called 911 for 112 people", "en")
        == "she called nine one one for one hundred twelve people"
    )


def test_a_slash_between_words_is_not_read_as_a_slash() -> None:
    assert prepare("anh/chị bấm phím 0", "vi") == "anh chị bấm phím không"
    assert prepare("he/she", "en") == "he or she"


def test_a_colon_keeps_its_sentence_together() -> None:
    assert split_sentences(prepare("Mã số phiếu là: 1234-5678. Cảm ơn.", "vi")) == [
        "Mã số phiếu là: một hai ba bốn, năm sáu bảy tám.",
        "Cảm ơn.",
    ]


def test_dates_and_clock_times() -> None:
    assert prepare("Ngày 1/7/2025 lúc 14h30", "vi") == (
        "ngày một tháng bảy năm hai nghìn không trăm hai mươi lăm lúc mười bốn giờ ba mươi phút"
    )
    assert prepare("hạn 31/12/2024, 8:05 hoặc 9h00", "vi") == (
        "hạn ngày ba mươi mốt tháng mười hai năm hai nghìn không trăm hai mươi tư, tám giờ năm phút hoặc chín giờ"
    )
    assert prepare("on 2/9/2025 at 8:05 or 9:00", "en") == (
        "on two September two thousand twenty-five at eight oh five or nine o'clock"
    )
    assert prepare("45/67/2024", "vi").startswith("bốn mươi lăm trên sáu mươi bảy")  # not a date


def test_a_span_of_years_is_not_a_ticket_number() -> None:
    assert (
        prepare("giai đoạn 2021-2025", "vi")
        == "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm"
    )
    assert prepare("from 2021-2025", "en") == "from two thousand twenty-one to two thousand twenty-five"
    assert prepare("phiếu 2025-2021", "vi") == "phiếu hai không hai năm, hai không hai một"
