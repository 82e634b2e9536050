"""``callbot.eval``'s report: each case carries structured checks, and pass/fail, the differences, slot and
outcome accuracy and the baseline's right/wrong all come from them (no difference strings parsed). Cases run
through the real runner, dialogue and decision interpreter."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbot.config import Settings
from callbot.dialogue.resources import DialogueResources
from callbot.eval.baseline import checks_of_plain_result
from callbot.eval.report import Check, EvalReport
from callbot.eval.runner import run_eval
from callbot.eval.script import EXPECT, _slot, scored_keys

SCRIPT = """\
locale: vi
default_province: "Thành phố Hà Nội"
cases:
  - id: wrong-name-kim-lien
    turns:
      - say: "dạ tôi tên là trần thị bích ngọc"
      - say: "phường kim liên"
      - say: "tôi cần hỗ trợ thực phẩm"
      - say: "vâng đúng"
      - dtmf: "9"
    expect:
      outcome: complete
      outcome_in: [partial, escalated]
      name: "Trần Thị Bích Hạnh"
      ward: "Phường  Kim Liên"
      prompts: [ask_name, readback, ask_nothing]
"""


@pytest.fixture(scope="module")
def resources() -> DialogueResources:
    return DialogueResources(Settings())


def run(tmp_path: Path, text: str, resources: DialogueResources) -> EvalReport:
    path = tmp_path / "cases.yaml"
    path.write_text(text, encoding="utf-8")
    return run_eval([path], Settings(), jobs=1, progress=False, resources=resources)


def test_a_result_carries_one_check_per_expectation_and_the_scripts_own(
    tmp_path: Path, resources: DialogueResources
) -> None:
    (result,) = run(tmp_path, SCRIPT, resources).results
    said = result.got["prompts"]
    assert said[:2] == ["greeting", "ask_name"] and "readback" in said
    assert result.checks == [
        Check("filed", True, True, True, "call"),
        Check("unused_turns", 0, 1, False, "call"),
        Check("outcome", "complete", "complete", True, "outcome"),
        Check("outcome", ["partial", "escalated"], "complete", False, "outcome"),
        Check("name", "Trần Thị Bích Hạnh", "Trần Thị Bích Ngọc", False, "slot"),
        Check("ward", "Phường  Kim Liên", "Phường Kim Liên", True, "slot"),  # white space is squeezed
        Check("prompts", ["ask_name", "readback", "ask_nothing"], said, False, "prompts"),
    ]
    assert not result.passed
    assert result.differences == [
        "the call ended with 1 turn(s) of the script unused",
        "outcome: expected one of ['partial', 'escalated'], got 'complete'",
        "name: expected 'Trần Thị Bích Hạnh', got 'Trần Thị Bích Ngọc'",
        f"prompts: expected ['ask_name', 'readback', 'ask_nothing'] in this order, the bot said {said}",
    ]
    # two outcome checks, one right and one wrong, are scored apart (a prefix match on "outcome:" was not)
    assert result.scored == {"outcome": False, "name": False, "ward": True}
    report = EvalReport([result])
    assert report.accuracy() == {"name": 0.0, "ward": 1.0, "outcome": 0.5}


def test_the_baseline_scores_a_plain_json_result_with_the_same_rules(
    tmp_path: Path, resources: DialogueResources
) -> None:
    plain = run(tmp_path, SCRIPT, resources).as_json()["results"][0]
    assert set(plain) == {"id", "passed", "expected", "got", "transcript"}
    assert checks_of_plain_result(plain) == {"outcome": False, "name": False, "ward": True}
    plain["expected"]["colour"] = "red"  # a key from another version of the format is not scored
    assert checks_of_plain_result(plain) == {"outcome": False, "name": False, "ward": True}


def test_a_new_expect_key_is_one_entry(
    tmp_path: Path, resources: DialogueResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(EXPECT, "caller_id", _slot("caller_id", lambda draft: draft.caller_id))
    assert scored_keys()[-2:] == ["caller_id", "outcome"]
    text = SCRIPT.replace("    turns:\n", '    caller_id: "+84912345678"\n    turns:\n')
    text = text.replace("    expect:\n", '    expect:\n      caller_id: "+84912345678"\n')
    report = run(tmp_path, text, resources)
    (result,) = report.results
    assert result.got["caller_id"] == "+84912345678"
    assert Check("caller_id", "+84912345678", "+84912345678", True, "slot") in result.checks
    assert report.accuracy()["caller_id"] == 1.0
    assert "slot accuracy: name 0.0%, ward 100.0%, caller_id 100.0%" in report.as_text()
