"""``callbot eval``: the shipped conversation scripts all pass; failures and malformed files are reported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner
from vietnam_provinces import Province, Ward

from callbot.cli import app
from tests.support import REPO

CONVERSATIONS = sorted((REPO / "tests" / "conversations").glob("*.yaml"))


def run_eval(*args: str):
    return CliRunner().invoke(app, ["eval", *args])


def test_every_shipped_conversation_passes_through_the_real_command() -> None:
    """Runs the installed entry point in a fresh process, as CI and engineers do."""
    result = subprocess.run(
        [sys.executable, "-m", "callbot", "eval", "--json", *map(str, CONVERSATIONS)],
        capture_output=True, text=True, cwd=REPO, check=False, timeout=300,
    )  # fmt: skip
    report = json.loads(result.stdout)
    failed = [r["id"] for r in report["results"] if not r["passed"]]
    assert failed == [] and result.returncode == 0, result.stdout[-4000:]
    assert report["cases"] == report["passed"] == len(report["results"]) >= 60
    assert set(report) == {"cases", "passed", "slot_accuracy", "results"}
    assert all(set(r) == {"id", "passed", "expected", "got", "transcript"} for r in report["results"])
    assert all(value == 1.0 for value in report["slot_accuracy"].values())
    assert {"name", "ward", "province", "category", "priority", "outcome"} <= set(report["slot_accuracy"])
    first = report["results"][0]["transcript"]
    assert first[0]["speaker"] == "bot" and any(line["speaker"] == "caller" for line in first)


def test_shipped_scripts_cover_the_deployments_and_behaviours() -> None:
    files = [yaml.safe_load(path.read_text(encoding="utf-8")) for path in CONVERSATIONS]
    deployments = {(f["locale"], f.get("default_province")) for f in files}
    assert {
        ("vi", "Thành phố Hà Nội"),
        ("vi", "Thành phố Hồ Chí Minh"),
        ("vi", "Thành phố Đà Nẵng"),
    } <= deployments
    assert any(locale == "en" for locale, _ in deployments)
    cases = [case for f in files for case in f["cases"]]
    prompts_checked = {key for case in cases for key in case["expect"].get("prompts", [])}
    behaviours = {
        "reprompt_name_1", "reprompt_address_1", "reprompt_need_1", "reprompt_ward_1", "exhausted_transfer",
        "check_name", "check_address", "check_need", "reask_name", "reask_address", "reask_need",
        "ask_which_slot", "ask_ward_district", "ask_ward", "ask_ward_which_province", "transfer_operator",
        "transfer_emergency", "callback", "reprompt_readback_1",
    }  # fmt: skip
    assert behaviours <= prompts_checked, behaviours - prompts_checked
    turns = [turn for case in cases for turn in case["turns"]]
    assert {"0", "1", "2", "3", "*"} <= {str(t["dtmf"]) for t in turns if "dtmf" in t}
    assert any("hangup" in t for t in turns) and any("confidence" in t for t in turns)
    outcomes = {case["expect"].get("outcome") for case in cases}
    assert {"complete", "partial", "escalated"} <= outcomes


def test_expected_wards_and_provinces_are_official_names() -> None:
    wards = {" ".join(w.name.split()) for w in Ward.iter_all()}
    provinces = {p.name for p in Province.iter_all()}
    for path in CONVERSATIONS:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data.get("default_province") in provinces | {None}
        for case in data["cases"]:
            ward, province = case["expect"].get("ward"), case["expect"].get("province")
            assert ward is None or " ".join(ward.split()) in wards, (path.name, case["id"], ward)
            assert province is None or province in provinces, (path.name, case["id"], province)


def write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD_CASE = """\
locale: vi
default_province: "Thành phố Hà Nội"
cases:
  - id: wrong-name
    turns:
      - say: "tôi tên là nguyễn văn an"
      - say: "phường láng"
      - say: "tôi cần hỗ trợ gạo"
      - say: "đúng rồi"
    expect:
      outcome: complete
      name: "Nguyễn Văn Bình"
      ward: "Phường Láng"
"""


def test_a_failing_case_exits_1_with_differences_and_transcript(tmp_path: Path) -> None:
    result = run_eval(str(write(tmp_path, GOOD_CASE)))
    assert result.exit_code == 1
    assert "FAIL  wrong-name" in result.output
    assert "name: expected 'Nguyễn Văn Bình', got 'Nguyễn Văn An'" in result.output
    assert "caller: tôi tên là nguyễn văn an" in result.output
    assert "bot: Trước hết, anh/chị vui lòng cho biết họ và tên ạ?" in result.output
    assert "cases: 0/1 passed (0.0%)" in result.output
    assert "slot accuracy: name 0.0%, ward 100.0%" in result.output
    report = json.loads(run_eval("--json", str(write(tmp_path, GOOD_CASE))).output)
    assert report["passed"] == 0 and report["slot_accuracy"] == {"name": 0.0, "ward": 1.0, "outcome": 1.0}
    assert report["results"][0]["got"]["name"] == "Nguyễn Văn An"


def test_passing_case_exits_0(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_CASE.replace("Nguyễn Văn Bình", "Nguyễn Văn An"))
    result = run_eval(str(path))
    assert result.exit_code == 0, result.output
    assert "PASS  wrong-name" in result.output and "outcome accuracy: 100.0%" in result.output


def test_unused_turns_and_outcome_in(tmp_path: Path) -> None:
    text = GOOD_CASE.replace('      - say: "đúng rồi"\n', '      - say: "đúng rồi"\n      - say: "alo"\n')
    text = text.replace(
        '      outcome: complete\n      name: "Nguyễn Văn Bình"\n', "      outcome_in: [partial, escalated]\n"
    )
    result = run_eval(str(write(tmp_path, text)))
    assert result.exit_code == 1
    assert "the call ended with 1 turn(s) of the script unused" in result.output
    assert "outcome: expected one of ['partial', 'escalated'], got 'complete'" in result.output


CASE_HEAD = "locale: vi\ncases:\n  - id: c1\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("cases: []\n", "field 'locale'"),
        ("locale: fr\ncases: []\n", "field 'locale'"),
        ("locale: vi\n", "field 'cases'"),
        (
            "locale: vi\ndefault_province: Atlantis\ncases: []\n",
            "field 'default_province': unknown province 'Atlantis'",
        ),
        ("locale: vi\nlanguage: vi\ncases: []\n", "field 'language'"),
        ("locale: vi\ncases:\n  - turns: []\n    expect: {outcome: partial}\n", "case #1: field 'id'"),
        (
            CASE_HEAD + "    turns: [{sayy: x}]\n    expect: {outcome: partial}\n",
            "case 'c1': field 'turns[0]'",
        ),
        (
            CASE_HEAD + "    turns: [{say: ''}]\n    expect: {outcome: partial}\n",
            "case 'c1': field 'turns[0].say'",
        ),
        (
            CASE_HEAD + "    turns: [{silence: -1}]\n    expect: {outcome: partial}\n",
            "case 'c1': field 'turns[0].silence'",
        ),
        (
            CASE_HEAD + "    turns: [{dtmf: 'a'}]\n    expect: {outcome: partial}\n",
            "case 'c1': field 'turns[0].dtmf'",
        ),
        (
            CASE_HEAD + "    turns: [{say: x, confidence: 2}]\n    expect: {outcome: partial}\n",
            "field 'turns[0].confidence'",
        ),
        (
            CASE_HEAD + "    turns: [{say: x, silence: 1}]\n    expect: {outcome: partial}\n",
            "field 'turns[0]'",
        ),
        (
            CASE_HEAD + "    turns: [{hangup: false}]\n    expect: {outcome: partial}\n",
            "field 'turns[0].hangup'",
        ),
        (CASE_HEAD + "    turns: []\n    expect: {outcome: done}\n", "case 'c1': field 'expect.outcome'"),
        (CASE_HEAD + "    turns: []\n    expect: {colour: red}\n", "case 'c1': field 'expect.colour'"),
        (CASE_HEAD + "    turns: []\n    expect: {category: food}\n", "case 'c1': field 'expect.category'"),
        (CASE_HEAD + "    turns: []\n", "case 'c1': field 'expect'"),
        (
            CASE_HEAD
            + "    turns: []\n    expect: {outcome: partial}\n  - id: c1\n    turns: []\n    expect: {outcome: partial}\n",
            "case 'c1': field 'id': duplicate",
        ),
        ("locale: vi\ncases: [\n", "not valid YAML"),
    ],
)
def test_malformed_file_exits_2_naming_file_case_and_field(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text, "broken.yaml")
    good = write(tmp_path, GOOD_CASE, "good.yaml")
    result = run_eval(str(good), str(path))
    assert result.exit_code == 2
    assert str(path) in result.stderr and where in result.stderr, result.stderr
    assert "PASS" not in result.output and "FAIL" not in result.output  # nothing runs before all files load


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = run_eval(str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "nope.yaml: file not found" in result.stderr
