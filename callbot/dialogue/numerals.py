"""Spoken numbers to digits, Vietnamese and English ("một trăm linh năm" -> 105, "thirty four" -> 34).

Written by hand: Vietnamese number grammar is small and regular, and the packaged alternatives either pull
~430 MB of pynini (viet-itn) or are GPL (vietnam-number). Digits are only produced where a number is
meant: after a numbering keyword ("số", "ngõ", "hẻm"...), or when the words can only be a number
("mười hai", "ba mươi tư", two digit words in a row), so "Hai Bà Trưng" and "Ba Đình" stay names.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

VI_DIGITS = {
    "không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "tư": 4, "năm": 5, "lăm": 5, "nhăm": 5,
    "sáu": 6, "bảy": 7, "bẩy": 7, "tám": 8, "chín": 9,
}  # fmt: skip
VI_STRUCTURE = {"mười", "mươi", "trăm", "nghìn", "ngàn", "triệu", "linh", "lẻ", "chục"}
VI_ONLY_AFTER_TENS = {"mốt", "lăm", "nhăm"}  # "mốt" and "lăm" are 1 and 5 only as the last digit of a tens

EN_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9,
}  # fmt: skip
EN_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
EN_SCALES = {"hundred": 100, "thousand": 1000}


# --- Vietnamese ----------------------------------------------------------------------------------------
def _vi_below_hundred(tokens: Sequence[str]) -> int | None:
    if len(tokens) == 1 and tokens[0] in VI_DIGITS and tokens[0] not in VI_ONLY_AFTER_TENS:
        return VI_DIGITS[tokens[0]]
    if tokens and tokens[0] == "mười":
        if len(tokens) == 1:
            return 10
        if len(tokens) == 2 and tokens[1] in VI_DIGITS and tokens[1] not in {"không", "mốt", "tư"}:
            return 10 + VI_DIGITS[tokens[1]]
        return None
    if len(tokens) >= 2 and tokens[0] in VI_DIGITS and tokens[1] in {"mươi", "chục"}:
        tens = VI_DIGITS[tokens[0]]
        if tens < 2 or tokens[0] in VI_ONLY_AFTER_TENS:
            return None
        if len(tokens) == 2:
            return tens * 10
        if len(tokens) == 3 and tokens[2] in VI_DIGITS and tokens[2] != "không":
            return tens * 10 + VI_DIGITS[tokens[2]]
        return None
    # colloquial "hai mốt" (21), "ba lăm" (35)
    colloquial = len(tokens) == 2 and tokens[0] in VI_DIGITS and tokens[1] in VI_ONLY_AFTER_TENS | {"tư"}
    if colloquial and VI_DIGITS[tokens[0]] >= 2 and tokens[0] not in VI_ONLY_AFTER_TENS:
        return VI_DIGITS[tokens[0]] * 10 + VI_DIGITS[tokens[1]]
    return None


def _vi_below_thousand(tokens: Sequence[str]) -> int | None:
    if "trăm" not in tokens:
        return _vi_below_hundred(tokens)
    index = tokens.index("trăm")
    head = tokens[:index]
    if len(head) != 1 or head[0] not in VI_DIGITS or head[0] in VI_ONLY_AFTER_TENS:
        return None
    hundreds = VI_DIGITS[head[0]] * 100
    rest = tokens[index + 1 :]
    if not rest:
        return hundreds
    if rest[0] in {"linh", "lẻ"}:
        if len(rest) == 2 and rest[1] in VI_DIGITS and rest[1] not in {"không", "mốt", "lăm", "nhăm"}:
            return hundreds + VI_DIGITS[rest[1]]
        return None
    if len(rest) == 1 and rest[0] in VI_DIGITS and rest[0] != "không":
        return hundreds + VI_DIGITS[rest[0]] * 10  # colloquial "hai trăm năm" = 250
    tail = _vi_below_hundred(rest)
    return None if tail is None else hundreds + tail


def _vi_split_scale(
    tokens: Sequence[str], scales: Collection[str], factor: int, lower: Callable
) -> int | None:
    for index, token in enumerate(tokens):
        if token in scales:
            head, rest = tokens[:index], tokens[index + 1 :]
            high = lower(head) if head else 1
            if high is None:
                return None
            if not rest:
                return high * factor
            if len(rest) == 1 and rest[0] in VI_DIGITS and rest[0] != "không":
                return high * factor + VI_DIGITS[rest[0]] * (factor // 10)  # "hai nghìn tư" = 2400
            low = lower(rest)
            return None if low is None else high * factor + low
    return lower(tokens)


def _vi_below_million(tokens: Sequence[str]) -> int | None:
    return _vi_split_scale(tokens, {"nghìn", "ngàn"}, 1000, _vi_below_thousand)


def parse_vietnamese_number(tokens: Sequence[str]) -> int | None:
    """The value of a whole run of Vietnamese number words, or None when the words do not form one number."""
    if not tokens:
        return None
    return _vi_split_scale(tokens, {"triệu"}, 1_000_000, _vi_below_million)


def _vi_digit_sequence(tokens: Sequence[str]) -> str | None:
    """Digits read one by one ("không chín một hai" -> "0912")."""
    if len(tokens) >= 2 and all(t in VI_DIGITS and t not in VI_ONLY_AFTER_TENS for t in tokens):
        return "".join(str(VI_DIGITS[t]) for t in tokens)
    return None


def _vi_run_to_digits(tokens: Sequence[str]) -> list[str]:
    """A run of number words as one or more digit strings, longest grammatical prefix first."""
    sequence = _vi_digit_sequence(tokens)
    value = parse_vietnamese_number(tokens)
    if value is not None and (sequence is None or len(tokens) > 2 or tokens[-1] in VI_ONLY_AFTER_TENS):
        return [str(value)]
    if sequence is not None:
        return [sequence]
    for end in range(len(tokens) - 1, 0, -1):
        value = parse_vietnamese_number(tokens[:end])
        if value is not None:
            return [str(value)] + _vi_run_to_digits(tokens[end:])
    return list(tokens)  # not a number after all (a lone "linh", "mươi"...)


# --- English -----------------------------------------------------------------------------------------
def _en_segments(tokens: Sequence[str]) -> list[int] | None:
    """Split a run of English number words into numbers: "twelve thirty four" -> [12, 34]."""
    segments: list[int] = []
    total = current = 0
    last = "start"
    for token in tokens:
        if token == "and":
            if last != "scale":
                return None
            continue
        if token in EN_UNITS or token in EN_TEENS or token in EN_TENS:
            kind = "unit" if token in EN_UNITS else "teen" if token in EN_TEENS else "tens"
            value = EN_UNITS.get(token) or EN_TEENS.get(token) or EN_TENS.get(token, 0)
            joins = last in {"start", "scale"} or (last == "tens" and kind == "unit")
            if not joins:
                segments.append(total + current)
                total = current = 0
            current += value
            last = kind
        elif token in EN_SCALES:
            if last not in {"unit", "teen", "tens"}:
                return None
            if token == "hundred":
                current *= 100
            else:
                total, current = (total + current) * 1000, 0
            last = "scale"
        else:
            return None
    if last == "start":
        return None
    segments.append(total + current)
    return segments


def parse_english_number(tokens: Sequence[str]) -> int | None:
    segments = _en_segments(tokens)
    return segments[0] if segments and len(segments) == 1 else None


# --- text conversion -----------------------------------------------------------------------------------
def is_number_word(token: str, locale: str) -> bool:
    if locale == "vi":
        return token in VI_DIGITS or token in VI_STRUCTURE
    return token in EN_UNITS or token in EN_TEENS or token in EN_TENS or token in EN_SCALES or token == "and"


def _clearly_a_number(run: Sequence[str], locale: str) -> bool:
    if locale == "en":
        return True
    return bool(set(run) & (VI_STRUCTURE - {"linh", "lẻ"})) or len(run) >= 2


def numbers_to_digits(
    tokens: Sequence[str],
    locale: str,
    keywords: Collection[str] = (),
    slash_words: Collection[str] = (),
) -> list[str]:
    """Replace spoken numbers in a token list with digits, where a number is meant (see module doc)."""
    out: list[str] = []
    index = 0
    while index < len(tokens):
        end = index
        while end < len(tokens) and is_number_word(tokens[end], locale):
            end += 1
        while end > index and tokens[end - 1] == "and":  # "number one and two" keeps its "and"
            end -= 1
        if end == index:
            out.append(tokens[index])
            index += 1
            continue
        run = tokens[index:end]
        after_keyword = bool(out) and out[-1] in keywords
        after_slash = len(out) >= 2 and out[-1] in slash_words and out[-2][:1].isdigit()
        if after_keyword or after_slash or _clearly_a_number(run, locale):
            digits = _run_to_digits(run, locale)
            if after_slash and digits and digits[0].isdigit():
                out[-1:] = []
                out[-1] = f"{out[-1]}/{digits[0]}"
                digits = digits[1:]
            out.extend(digits)
        else:
            out.extend(run)
        index = end
    return out


def _run_to_digits(run: Sequence[str], locale: str) -> list[str]:
    if locale == "vi":
        return _vi_run_to_digits(run)
    segments = _en_segments(run)
    if segments is None:
        return list(run)
    return ["".join(str(s) for s in segments)]
