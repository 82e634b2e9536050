"""Text preparation for speech: what a synthesizer should read, cut into sentences.

Phone numbers are read digit by digit, ticket numbers ("NNNN-NNNN") in groups of digits, other numbers as
words (Vietnamese: mốt, tư, lăm, linh, mươi, trăm, nghìn, triệu, tỷ), and the abbreviations of addresses and
forms are written out. Every engine gets the same prepared text, so they all say the same words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Bumped when the rules change: part of the prompt cache's key, so cached prompts are re-rendered.
TEXTPREP_VERSION = "4"

MAX_SENTENCE_CHARS = 220  # longer sentences are cut at commas so the first audio comes quickly

VI_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
EN_TEENS = (
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
VI_SCALES = ("", "nghìn", "triệu", "tỷ")
EN_SCALES = ("", "thousand", "million", "billion")
MAX_SPOKEN_NUMBER = 10**12 - 1  # larger numbers are read digit by digit


# --- numbers as words -------------------------------------------------------------------------------------
def _vi_below_hundred(n: int, after_hundreds: bool) -> list[str]:
    """0..99 in Vietnamese; ``after_hundreds`` means a hundreds word precedes (so 5 -> "linh năm")."""
    tens, units = divmod(n, 10)
    if tens == 0:
        if units == 0:
            return []
        return (["linh"] if after_hundreds else []) + [VI_DIGITS[units]]
    words = ["mười"] if tens == 1 else [VI_DIGITS[tens], "mươi"]
    if units == 1 and tens >= 2:
        words.append("mốt")
    elif units == 4 and tens >= 2:
        words.append("tư")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(VI_DIGITS[units])
    return words


def _vi_below_thousand(n: int, full: bool) -> list[str]:
    """0..999; ``full`` (a group after a larger one) says "không trăm" for a zero hundreds digit."""
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds or (full and rest):
        words += [VI_DIGITS[hundreds], "trăm"]
    return words + _vi_below_hundred(rest, after_hundreds=bool(words))


def vi_number(n: int) -> str:
    """An integer as Vietnamese words: 21 -> "hai mươi mốt", 105 -> "một trăm linh năm"."""
    if n < 0:
        return "âm " + vi_number(-n)
    if n == 0:
        return VI_DIGITS[0]
    groups = _groups_of_thousand(n)
    words: list[str] = []
    for scale, group in reversed(list(enumerate(groups))):
        if group == 0:
            continue
        words += _vi_below_thousand(group, full=bool(words))
        if VI_SCALES[scale]:
            words.append(VI_SCALES[scale])
    return " ".join(words)


def _en_below_thousand(n: int) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words = [EN_DIGITS[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(EN_TENS[tens] + (f"-{EN_DIGITS[units]}" if units else ""))
    elif rest >= 10:
        words.append(EN_TEENS[rest - 10])
    elif rest:
        words.append(EN_DIGITS[rest])
    return words


def en_number(n: int) -> str:
    """An integer as English words: 105 -> "one hundred five", 2024 -> "two thousand twenty-four"."""
    if n < 0:
        return "minus " + en_number(-n)
    if n == 0:
        return EN_DIGITS[0]
    words: list[str] = []
    for scale, group in reversed(list(enumerate(_groups_of_thousand(n)))):
        if group:
            words += _en_below_thousand(group) + ([EN_SCALES[scale]] if EN_SCALES[scale] else [])
    return " ".join(words)


def _groups_of_thousand(n: int) -> list[int]:
    groups = []
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    return groups


def digits_spoken(digits: str, locale: str) -> str:
    names = VI_DIGITS if locale == "vi" else EN_DIGITS
    return " ".join(names[int(d)] for d in digits if d.isdigit())


# --- patterns -------------------------------------------------------------------------------------------
_TICKET = re.compile(r"(?<![\d-])(\d{4})-(\d{4})(?![\d-])")
# A phone number: +84 or a leading 0, then digits in groups separated by spaces, dots or dashes.
_PHONE = re.compile(r"(?<![\w.])(?:\+84[ .-]?|0)\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?![\w])")
# A number right after words that introduce a number to dial is read digit by digit ("tổng đài 1022").
_DIALLED = re.compile(
    r"(?i)\b(tổng đài|đường dây nóng|hotline|số điện thoại|cấp cứu|gọi(?: ngay)?(?: số)?"
    r"|call(?:ed|ing|s)?|dial(?:led|ed|ing|s)?|phone)(\s+)(\d{3,})\b"
)
# Emergency numbers after "số" (number) or a service's name are said digit by digit ("số một một năm").
_SERVICE_NUMBER = re.compile(
    r"(?i)\b(số|khẩn cấp|công an|cảnh sát|cứu hỏa|cứu hộ|number|emergency|police|ambulance|fire)(\s+)"
    r"(111|112|113|114|115|116|911|999)\b"
)
_WORD_SLASH = re.compile(r"(?<=[^\W\d_])/(?=[^\W\d_])")  # anh/chị, he/she
_SHORT_HOTLINE = re.compile(
    r"(?<![\w.])(1[089]00)[ .]?(\d{3,4})(?:[ .]?(\d{2,4}))?(?!\w)"
)  # 1900 xxxx, 1800 xxxx
_VI_GROUPED_INT = re.compile(r"(?<![\d.,])\d{1,3}(?:\.\d{3})+(?![\d]|[.,]\d)")  # 1.000.000
_EN_GROUPED_INT = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d]|[.,]\d)")  # 1,000,000
_VI_DECIMAL = re.compile(r"(?<![\d.,])(\d+),(\d+)(?![\d]|[.,]\d)")  # 3,5 (Vietnamese decimal comma)
_EN_DECIMAL = re.compile(r"(?<![\d.,])(\d+)\.(\d+)(?![\d]|[.,]\d)")
_SLASH_NUMBER = re.compile(r"(?<=\d)/(?=\d)")  # house numbers such as 12/3 ("mười hai trên ba")
_INT = re.compile(r"\d+")
_PERCENT = re.compile(r"(\d)\s*%")
_DATE = re.compile(
    r"(?:\b(?i:ngày)\s+)?(?<![\d/])(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?![\d/])"
)  # 2/9/2025 (day first)
_CLOCK = re.compile(r"(?<![\d:])([01]?\d|2[0-3])(?::|h)([0-5]\d)(?![\d:])")  # 14:30, 14h30
EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Vietnamese abbreviations of places and forms. Order matters: longer forms first.
_VI_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (r"\bTP\.?\s*HCM\b", "thành phố Hồ Chí Minh"),
    (r"\bTP\.?\s*HN\b", "thành phố Hà Nội"),
    (r"\bUBND\b", "ủy ban nhân dân"),
    (r"\bHĐND\b", "hội đồng nhân dân"),
    (r"\bCCCD\b", "căn cước công dân"),
    (r"\bCMND\b", "chứng minh nhân dân"),
    (r"\bSĐT\b", "số điện thoại"),
    (r"\bĐT\b", "điện thoại"),
    (r"\bHCM\b", "Hồ Chí Minh"),
    (r"\bTP\b\.?", "thành phố"),
    (r"\bTp\.", "thành phố"),
    (r"\bTX\b\.?", "thị xã"),
    (r"\bTT\.", "thị trấn"),
    (r"\bKP\b\.?", "khu phố"),
    (r"\bKDC\b", "khu dân cư"),
    (r"\bP\.\s*", "phường "),
    (r"\bQ\.\s*", "quận "),
    (r"\bH\.\s*", "huyện "),
    (r"\bX\.\s*", "xã "),
    (r"\bĐ\.\s*", "đường "),
    (r"\bSN\b", "số nhà"),
    (r"\bkm\b", "ki lô mét"),
    (r"(?<=\d)\s*(?:đ|VNĐ|VND)\b", " đồng"),
)
_EN_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (r"\bSt\.", "Street"),
    (r"\bRd\.", "Road"),
    (r"\bAve\.", "Avenue"),
    (r"\bApt\.", "apartment"),
    (r"\bNo\.(?=\s*\d)", "number"),
    (r"\bMr\.", "Mister"),
    (r"\bMrs\.", "Missus"),
    (r"\bMs\.", "Miz"),
    (r"\bDr\.", "Doctor"),
    (r"\be\.g\.", "for example"),
    (r"\bi\.e\.", "that is"),
    (r"\bHCMC\b", "Ho Chi Minh City"),
)


def _compile(table: tuple[tuple[str, str], ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern), words) for pattern, words in table)


_ABBREVIATIONS = {"vi": _compile(_VI_ABBREVIATIONS), "en": _compile(_EN_ABBREVIATIONS)}


# --- the public functions -------------------------------------------------------------------------------
def prepare(text: str, locale: str) -> str:
    """Rewrite ``text`` so that a synthesizer says it the way a person on the phone would."""
    if locale not in _ABBREVIATIONS:
        raise ValueError(f"unsupported locale for speech: {locale!r} (expected vi or en)")
    say_number: Callable[[int], str] = vi_number if locale == "vi" else en_number
    pause = ", "

    def read_digits(match: re.Match[str]) -> str:
        number = re.sub(r"^\+84[ .-]?", "0", match.group(0))
        groups = [g for g in re.split(r"[ .-]+", number) if g]
        if len(groups) == 1:  # unbroken: read in the usual 4-3-3 (or 3-3-...) rhythm
            groups = _rhythm(groups[0])
        return pause.join(digits_spoken(g, locale) for g in groups)

    text = " ".join(text.split())
    text = _TICKET.sub(lambda m: _ticket_or_years(m.group(1), m.group(2), locale), text)
    text = _SHORT_HOTLINE.sub(lambda m: pause.join(digits_spoken(g, locale) for g in m.groups() if g), text)
    text = _PHONE.sub(read_digits, text)
    for dialled in (_DIALLED, _SERVICE_NUMBER):
        text = dialled.sub(lambda m: m.group(1) + m.group(2) + digits_spoken(m.group(3), locale), text)
    text = _WORD_SLASH.sub(" " if locale == "vi" else " or ", text)
    for pattern, words in _ABBREVIATIONS[locale]:
        text = pattern.sub(words, text)
    text = _DATE.sub(lambda m: _spoken_date(m, locale), text)
    text = _CLOCK.sub(lambda m: _spoken_clock(int(m.group(1)), int(m.group(2)), locale), text)
    text = _PERCENT.sub(r"\1 " + ("phần trăm" if locale == "vi" else "percent"), text)
    grouped, decimal, point = (
        (_VI_GROUPED_INT, _VI_DECIMAL, "phẩy") if locale == "vi" else (_EN_GROUPED_INT, _EN_DECIMAL, "point")
    )
    text = grouped.sub(lambda m: _spoken_int(re.sub(r"\D", "", m.group(0)), say_number, locale), text)
    text = decimal.sub(
        lambda m: (
            f"{_spoken_int(m.group(1), say_number, locale)} {point} {digits_spoken(m.group(2), locale)}"
        ),
        text,
    )
    text = _SLASH_NUMBER.sub(" trên " if locale == "vi" else " slash ", text)
    text = _INT.sub(lambda m: _spoken_int(m.group(0), say_number, locale), text)
    return " ".join(text.replace(" ,", ",").split())


def _spoken_date(match: re.Match[str], locale: str) -> str:
    day, month, year = (int(g) for g in match.groups())
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return match.group(0)  # not a date: left to the number rules
    if locale == "vi":
        return f"ngày {day} tháng {month} năm {year}"
    return f"{day} {EN_MONTHS[month - 1]} {year}"


def _ticket_or_years(first: str, second: str, locale: str) -> str:
    """ "NNNN-NNNN" is a ticket number read in two groups of digits, unless it is a span of years (2020-2025)."""
    if 1900 <= int(first) < int(second) <= 2100:
        return f"{first} {'đến' if locale == 'vi' else 'to'} {second}"
    return f"{digits_spoken(first, locale)}, {digits_spoken(second, locale)}"


def _spoken_clock(hour: int, minute: int, locale: str) -> str:
    if locale == "vi":
        return f"{hour} giờ" + (f" {minute} phút" if minute else "")
    if minute == 0:
        return f"{hour} o'clock"
    return f"{hour} oh {minute}" if minute < 10 else f"{hour} {minute}"


def _spoken_int(digits: str, say_number: Callable[[int], str], locale: str) -> str:
    # A leading zero ("007") or an enormous number is an identifier: read it digit by digit.
    if (len(digits) > 1 and digits.startswith("0")) or int(digits) > MAX_SPOKEN_NUMBER:
        return digits_spoken(digits, locale)
    return say_number(int(digits))


def _rhythm(digits: str) -> list[str]:
    """Split an unbroken phone number into the groups people say: 0912345678 -> 0912 345 678."""
    if len(digits) in (10, 11):
        return [digits[:4], digits[4:7], digits[7:]]
    return [digits[i : i + 3] for i in range(0, len(digits), 3)]


_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+")


def split_sentences(text: str, max_chars: int = MAX_SENTENCE_CHARS) -> list[str]:
    """Cut prepared text into sentences; a sentence longer than ``max_chars`` is cut at commas."""
    sentences: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            sentences.append(sentence)
            continue
        piece = ""
        for clause in re.split(r"(?<=,)\s+", sentence):
            if piece and len(piece) + 1 + len(clause) > max_chars:
                sentences.append(piece)
                piece = clause
            else:
                piece = f"{piece} {clause}".strip()
        if piece:
            sentences.append(piece)
    return [s for s in sentences if any(ch.isalnum() for ch in s)]


def sentences_for_speech(text: str, locale: str) -> list[str]:
    return split_sentences(prepare(text, locale))
