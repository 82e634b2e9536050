"""Unit tests for callbot eval's arithmetic (``callbot.eval``): edit distance, WER/CER, percentiles, the
telephone band-pass, noise at a chosen SNR, and the baseline comparison on hand-made results."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from conftest import espeak_wav

from callbot.audio import pcm16_to_float, to_pcm16
from callbot.config import Settings
from callbot.dialogue.resources import DialogueResources
from callbot.eval.audio import AudioCaller, TurnMeasure
from callbot.eval.baseline import compare
from callbot.eval.fixtures import add_noise, band_pass, speech_rms
from callbot.eval.html import latency_histogram_svg
from callbot.eval.metrics import (
    ErrorCount,
    char_errors,
    edit_distance,
    normalize_text,
    word_errors,
)
from callbot.eval.report import CaseResult, Check, EvalReport
from callbot.eval.runner import run_case
from callbot.eval.script import load_eval_file
from callbot.measures import percentile
from callbot.types import Transcript


@pytest.mark.parametrize(
    ("reference", "hypothesis", "distance"),
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "ab", 2),
        ("kitten", "sitting", 3),
        ("abc", "abc", 0),
        ("ab", "ba", 2),
    ],
)
def test_edit_distance(reference: str, hypothesis: str, distance: int) -> None:
    assert edit_distance(reference, hypothesis) == distance
    assert edit_distance(list(hypothesis), list(reference)) == distance  # symmetric


def test_word_and_char_errors_normalize_case_punctuation_and_unicode() -> None:
    decomposed = "Tôi tên là Nguyễn Văn An."  # typed by a person: capitals, a full stop
    assert normalize_text(decomposed) == "tôi tên là nguyễn văn an"
    assert word_errors(decomposed, "tôi tên là nguyễn văn an") == ErrorCount(0, 6)
    # one substitution (an -> anh) and one deletion (văn) out of six words
    assert word_errors(decomposed, "tôi tên là nguyễn anh") == ErrorCount(2, 6)
    assert word_errors("a b c", "a x b c d").rate == pytest.approx(2 / 3)  # insertions count too
    assert char_errors("abc", "abd") == ErrorCount(1, 3)
    assert word_errors("", "something").rate is None  # no reference words: no rate
    assert (ErrorCount(1, 4) + ErrorCount(3, 6)).rate == pytest.approx(
        0.4
    )  # corpus-level, not a mean of rates


def test_percentiles_interpolate_between_ranks() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == pytest.approx(25.0)
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def tone(freq: float, rate: int = 8000, seconds: float = 1.0, amplitude: float = 0.3) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return to_pcm16(amplitude * np.sin(2 * np.pi * freq * t))


def level_db(pcm: bytes) -> float:
    samples = pcm16_to_float(pcm)[800:-800]  # away from the filter's edges
    return 20 * np.log10(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def test_telephone_band_pass_keeps_speech_band_and_cuts_outside() -> None:
    for freq, low, high in ((1000, -1.0, 1.0), (2500, -1.0, 1.0), (100, -100, -20.0), (3900, -100, -15.0)):
        change = level_db(band_pass(tone(freq), 8000, 300, 3400)) - level_db(tone(freq))
        assert low < change < high, (freq, change)
    assert len(band_pass(tone(1000), 8000, 300, 3400)) == len(tone(1000))


def test_noise_is_added_at_the_asked_snr_and_is_reproducible() -> None:
    clean = tone(440, amplitude=0.1)
    noisy = add_noise(clean, 8000, 10.0, np.random.default_rng(3))
    noise = pcm16_to_float(noisy).astype(np.float64) - pcm16_to_float(clean)
    snr = 20 * np.log10(
        speech_rms(pcm16_to_float(clean).astype(np.float64), 8000) / np.sqrt(np.mean(noise**2))
    )
    assert snr == pytest.approx(10.0, abs=0.3)
    assert add_noise(clean, 8000, 10.0, np.random.default_rng(3)) == noisy
    assert add_noise(b"\x00\x00" * 800, 8000, 10.0, np.random.default_rng(3)) == b"\x00\x00" * 800


def measure(reference: str, hypothesis: str, latency: float | None = 700.0) -> TurnMeasure:
    return TurnMeasure(
        0,
        "a.wav",
        reference,
        hypothesis,
        word_errors(reference, hypothesis),
        char_errors(reference, hypothesis),
        latency,
        600.0 if latency else None,
        latency - 600.0 if latency else None,
        True,
    )


def report_of(name_right: bool, hypothesis: str) -> EvalReport:
    name = "An" if name_right else "Anh"
    result = CaseResult(
        "c1",
        Path("/x/s.yaml"),
        {"name": "An", "outcome": "complete"},
        {"name": name, "outcome": "complete"},
        [Check("name", "An", name, name_right, "slot"), Check("outcome", "complete", "complete", True, "outcome")],
        [],
        [measure("tôi tên an", hypothesis)],
    )
    return EvalReport([result], "m")


def test_baseline_marks_the_slot_the_case_and_the_wer_that_got_worse_or_better() -> None:
    good, bad = report_of(True, "tôi tên an"), report_of(False, "tôi tên anh")
    assert bad.results[0].scored == {"name": False, "outcome": True}
    before = {"s.yaml#c1": good.as_json()["results"][0]}
    changes = compare(bad, before)
    assert {(c.what, c.worse) for c in changes} == {("case", True), ("name", True), ("wer", True)}
    # a WER move within the tolerance (Vosk's run-to-run wobble) is not a change; slots still are
    assert {c.what for c in compare(bad, before, wer_tolerance=0.5)} == {"case", "name"}
    bad.changes, bad.baseline = changes, "base.json"
    data = bad.as_json()
    assert {r["what"] for r in data["regressions"]} == {"case", "name", "wer"} and data["improvements"] == []
    assert bad.exit_code() == 1
    # the other way round everything is an improvement; a plain eval JSON (no checks) still compares slots
    plain = {k: v for k, v in bad.as_json()["results"][0].items() if k in ("id", "passed", "expected", "got")}
    reverse = compare(good, {"s.yaml#c1": plain})
    assert {(c.what, c.worse) for c in reverse} == {("case", False), ("name", False)}


def test_histogram_bins_every_turn() -> None:
    svg = latency_histogram_svg([600.0, 650.0, 700.0, 1200.0, 1210.0])
    assert svg.startswith("<svg") and svg.count('class="bar"') == 12
    heights = [float(part.split('"')[0]) for part in svg.split('height="')[2:]]
    assert sum(1 for h in heights if h > 0) == 3  # three occupied bins
    assert "no-latency" in latency_histogram_svg([])


class TimedRecognizer:
    """Recognizer double: takes ``seconds_per_frame`` of wall time for each 20 ms it is fed, hears fixed text."""

    sample_rate = 16000

    def __init__(self, seconds_per_frame: float) -> None:
        self.seconds_per_frame = seconds_per_frame

    def accept(self, pcm: bytes) -> str | None:
        time.sleep(self.seconds_per_frame * len(pcm) / 2 / (self.sample_rate * 0.02))
        return None

    def final(self, offset: float) -> Transcript:
        return Transcript("xin chào", offset, offset + 1.0, 0.9)

    def set_phrases(self, phrases: object) -> None:
        pass

    def reset(self) -> None:
        pass


def test_latency_counts_the_backlog_of_a_recognizer_slower_than_real_time(tmp_path: Path) -> None:
    espeak_wav(tmp_path / "hello.wav", "xin chào các bạn", "vi", rate=8000)
    script = tmp_path / "s.yaml"
    script.write_text('locale: vi\ncases:\n  - id: a\n    turns:\n      - wav: hello.wav\n        say: "xin chào"\n'
                      "    expect:\n      outcome: partial\n", encoding="utf-8")  # fmt: skip
    settings = Settings()
    resources = DialogueResources(settings)
    eval_file = load_eval_file(script, resources)
    processing = {}
    for label, per_frame in (("fast", 0.0), ("slow", 0.05)):  # slow: 2.5x real time
        caller = AudioCaller(eval_file, settings, TimedRecognizer(per_frame))
        run_case(eval_file.cases[0], eval_file, settings, resources, "0000-0001", caller)
        (turn,) = caller.measures
        assert turn.hypothesis == "xin chào" and turn.endpoint_ms is not None and turn.endpoint_ms >= 600
        processing[label] = turn.processing_ms
    # the slow recognizer's frames queue up faster than they are decoded; the end-of-speech silence only
    # partly drains the queue, so its final comes much later than the fast one's
    assert processing["fast"] < 50 and processing["slow"] > 300, processing
