"""The baseline comparison of ``callbot eval`` on hand-made results: the slot, the case and the WER that got
worse or better."""

from __future__ import annotations

from pathlib import Path

from callbot.eval.audio import TurnMeasure
from callbot.eval.baseline import compare
from callbot.eval.metrics import (
    char_errors,
    word_errors,
)
from callbot.eval.report import CaseResult, Check, EvalReport


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
