"""Comparing a run with a previous ``--json`` report: every case, slot, outcome and WER that got better or
worse. Cases are matched by file name and case id; cases new in this run or gone from it are not changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from callbot.eval.report import SCORED, CaseResult, Change, EvalReport, case_key, expect_checks
from callbot.eval.script import EXPECT, MalformedEvalFile

# Vosk does not decode the same audio identically on a shared model (vosk-api issue #868: state cached in the
# model), so a case's WER moves a little between identical runs; only a larger move counts as a change.
WER_TOLERANCE = 0.1


class BadBaseline(MalformedEvalFile):
    """The baseline file is missing or is not a ``callbot eval --json`` report."""


def load_baseline(path: Path) -> dict[str, dict[str, Any]]:
    """case key -> that case's result in the previous report."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadBaseline(f"{path}: cannot read the baseline report: {exc}") from None
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list) or not all(isinstance(r, dict) and "id" in r for r in results):
        raise BadBaseline(f"{path}: not a report of callbot eval --json (no results with ids)")
    return {case_key(r.get("file", ""), str(r["id"])): r for r in results}


def checks_of_plain_result(before: dict[str, Any]) -> dict[str, bool]:
    """Slot/outcome right-or-wrong from a plain ``callbot eval --json`` result (expected and got only)."""
    expected, got = before.get("expected") or {}, before.get("got") or {}
    known = {key: value for key, value in expected.items() if key in EXPECT}  # a report of another version
    checks = expect_checks(known, got, got.get("prompts") or [])
    return {check.key: check.passed for check in checks if check.kind in SCORED}


def compare(
    report: EvalReport, previous: dict[str, dict[str, Any]], wer_tolerance: float = WER_TOLERANCE
) -> list[Change]:
    """Every case, slot/outcome check and case WER (moved by more than ``wer_tolerance``) that changed."""
    changes: list[Change] = []
    for result in report.results:
        before = previous.get(case_key(result.file, result.id))
        if before is None:
            continue

        def change(what: str, old: Any, new: Any, worse: bool, case: CaseResult = result) -> None:
            changes.append(Change(case.id, str(case.file), what, old, new, worse))

        if bool(before.get("passed")) != result.passed:
            change("case", bool(before.get("passed")), result.passed, worse=not result.passed)
        old_checks = before.get("checks") or checks_of_plain_result(before)
        for slot, right in result.scored.items():
            if slot in old_checks and bool(old_checks[slot]) != right:
                change(slot, bool(old_checks[slot]), right, worse=not right)
        old_wer, new_wer = before.get("wer"), result.words.rate
        if (
            isinstance(old_wer, (int, float))
            and new_wer is not None
            and abs(new_wer - old_wer) > wer_tolerance
        ):
            change("wer", float(old_wer), round(new_wer, 4), worse=new_wer > old_wer)
    return changes
