"""`callbot fixtures export` on a real recorded call: a CallSession (real Listener, dialogue, espeak-ng prompts,
SQLite store, stereo recorder) answered with espeak-ng Vietnamese clips; the recognizer at the ASR edge
returns each clip's known text (the packaged Korean model cannot understand Vietnamese). The export cuts the
caller's channel into one WAV per answer and writes a script that replays to the same slots; a supervisor's
correction turns it into a failing regression case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml
from typer.testing import CliRunner

from callbot.audio import rms_dbfs
from callbot.cli import app
from callbot.store.models import TicketUpdate
from callbot.ticket_numbers import format_ticket_number
from callbot.testing import ScriptedRecognizer
from tests.support.calls import (  # noqa: F401  (fixtures: real calls on a real store, and the caller's clips)
    FRAME_BYTES,
    answer_every_question,
    clips,
    dataclasses_replace_recognizer,
    korean_resources,
    record_only_resources,
    settings,
    speech_output,
    start_call,
    store,
    ticket_of,
)
from tests.support.commands import callbot, report_of
from tests.support.stores import audit_entries, change_ticket


def loudest_frame(pcm: bytes) -> bytes:
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)]
    return max(frames, key=lambda f: float(np.abs(np.frombuffer(f, dtype="<i2")).mean()))


@pytest.mark.slow
def test_export_of_a_recorded_call_replays_to_the_same_slots(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # the call-session test's fixtures, imported above: a real call on a real store, and the caller's clips
    resources, begin_call, ticket_store, call_settings, answers = map(
        request.getfixturevalue, ("korean_resources", "start_call", "store", "settings", "clips")
    )
    recognizer = ScriptedRecognizer(sample_rate=call_settings.asr_sample_rate)
    call = begin_call(dataclasses_replace_recognizer(resources, recognizer), speed=2.0)
    answers = {**answers, "yes": ("đúng rồi", answers["name"][1])}
    asked = answer_every_question(
        call, answers, confirm_digit=None, confirm_clip="yes", recognizer=recognizer
    )
    detail = ticket_of(ticket_store, call.session)
    ticket = detail.ticket
    assert ticket.outcome == "complete" and ticket.name == "Nguyễn Văn An", asked
    said = [t.text for t in detail.turns if t.speaker == "caller" and t.kind.value == "speech"]

    out = tmp_path / "export"
    refused = CliRunner().invoke(app, ["fixtures", "export", ticket.number, "-o", str(out)])
    assert refused.exit_code == 2 and "not approved for tuning" in refused.output and not out.exists()
    change_ticket(ticket_store, ticket.number, TicketUpdate(approved_for_tuning=True), actor="supervisor")
    exported = CliRunner().invoke(
        app, ["fixtures", "export", format_ticket_number(ticket.number), "-o", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    [logged] = audit_entries(ticket_store, action="fixture.export")
    assert (logged.actor, logged.target_id) == ("cli", ticket.number)
    assert "personal data" in exported.output and "this machine" in exported.output
    script_path = out / f"ticket-{ticket.number}.yaml"
    script = yaml.safe_load(script_path.read_text(encoding="utf-8"))
    (case,) = script["cases"]
    assert script["locale"] == "vi" and case["caller_id"] == "0912345678"
    assert case["expect"]["name"] == "Nguyễn Văn An" and case["expect"]["outcome"] == "complete"
    assert case["expect"]["need"] == ticket.need_text and case["expect"]["ward"] == ticket.ward_name
    wav_turns = [turn for turn in case["turns"] if "wav" in turn]
    assert [turn["say"] for turn in wav_turns] == said
    # each WAV is the caller's own audio from the left channel: the clip's loudest frame, sample for sample
    labels = ["name", "address", "need", "yes"]
    for turn, label in zip(wav_turns, labels, strict=True):
        samples, rate = soundfile.read(
            str(out / turn["wav"]), dtype="int16"
        )  # bit-exact, no float round trip
        cut = samples.tobytes()
        assert rate == 8000 and samples.ndim == 1 and rms_dbfs(cut) > -35
        assert loudest_frame(answers[label][1]) in cut, label
        assert (
            len(cut) / 2 / rate < len(answers[label][1]) / 2 / 8000 + 1.0
        )  # one answer, not the bot's prompts too

    replayed = callbot("eval", "--json", "--asr", "reference", script_path)
    report = report_of(replayed)
    assert replayed.returncode == 0, report["results"][0]["differences"]
    got = report["results"][0]["got"]
    assert (got["name"], got["address"], got["ward"], got["need"], got["category"]) == (
        ticket.name,
        ticket.address_text,
        ticket.ward_name,
        ticket.need_text,
        ticket.category,
    )
    assert all(t["speech"] for t in report["results"][0]["audio_turns"])  # every cut holds speech

    # a supervisor corrects the name: exported again, the case now fails on exactly that slot
    change_ticket(ticket_store, ticket.number, TicketUpdate(name="Nguyễn Văn Anh"), actor="supervisor")
    corrected = CliRunner().invoke(app, ["fixtures", "export", ticket.number, "-o", str(tmp_path / "again")])
    assert corrected.exit_code == 0, corrected.output
    rerun = report_of(callbot("eval", "--json", "--asr", "reference", tmp_path / "again" / script_path.name))
    assert rerun["results"][0]["checks"] == {
        **{k: True for k in rerun["results"][0]["checks"]},
        "name": False,
    }


def test_export_of_an_unknown_or_malformed_ticket_exits_2(tmp_path: Path) -> None:
    unknown = CliRunner().invoke(app, ["fixtures", "export", "1234-5671", "-o", str(tmp_path)])
    malformed = CliRunner().invoke(app, ["fixtures", "export", "12", "-o", str(tmp_path)])
    assert unknown.exit_code == 2 and "no ticket 1234-5671" in unknown.output
    assert malformed.exit_code == 2 and "not a valid ticket number" in malformed.output


@pytest.mark.slow
def test_export_of_a_record_only_call_writes_a_transcription_stub_that_replays_once_filled(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    resources, begin_call, ticket_store, answers = map(
        request.getfixturevalue, ("record_only_resources", "start_call", "store", "clips"))
    call = begin_call(resources, speed=2.0)
    assert answer_every_question(call, answers) == ["name", "address", "need"]
    ticket = ticket_of(ticket_store, call.session).ticket
    assert ticket.needs_transcription and ticket.name is None
    change_ticket(ticket_store, ticket.number, TicketUpdate(approved_for_tuning=True), actor="supervisor")
    out = tmp_path / "export"
    exported = CliRunner().invoke(app, ["fixtures", "export", ticket.number, "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    script_path = out / f"ticket-{ticket.number}.yaml"
    assert "3 answer(s) were never transcribed" in exported.output
    assert f"replay it with: callbot eval --asr reference {script_path}" in exported.output
    text = script_path.read_text(encoding="utf-8")
    assert "# TO DO: 3 answer(s) were recorded but never transcribed" in text
    (case,) = yaml.safe_load(text)["cases"]
    wav_turns = [turn for turn in case["turns"] if "wav" in turn]
    assert [turn["say"] for turn in wav_turns] == [f"TRANSCRIBE: what the caller says in {turn['wav']}"
                                                   for turn in wav_turns]
    assert case["expect"] == {"outcome": ticket.outcome, "escalation": None}  # nothing that needs the words

    unfilled = callbot("eval", "--asr", "reference", script_path)
    assert unfilled.returncode == 2 and "still the transcription placeholder" in unfilled.stderr
    assert "turns[" in unfilled.stderr and str(script_path) in unfilled.stderr  # which file, case and turn

    for turn, label in zip(wav_turns, ("name", "address", "need"), strict=True):  # the supervisor listens, writes
        text = text.replace(turn["say"], answers[label][0])
    script_path.write_text(text, encoding="utf-8")
    filled = callbot("eval", "--json", "--asr", "reference", script_path)
    report = report_of(filled)
    assert filled.returncode == 0, report["results"][0]["differences"]
    assert report["results"][0]["got"]["name"] == "Nguyễn Văn An"
