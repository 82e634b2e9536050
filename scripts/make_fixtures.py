#!/usr/bin/env python
"""Audio fixtures for `callbot eval`: every `say:` turn of a conversation script spoken by the product's own TTS
(SpeechOutput: espeak-ng for Vietnamese, Piper for English, as configured) at 8 kHz, optionally through a
telephone band-pass (300-3400 Hz) and with white noise at a chosen SNR. Writes OUT/<script>.yaml with
`wav:` + `say:` turns and the clips in OUT/answers/.

    python scripts/make_fixtures.py tests/conversations/vi_hanoi.yaml -o fixtures/hanoi
    python scripts/make_fixtures.py tests/conversations/vi_hanoi.yaml -o fixtures/hanoi-noisy \\
        --cases hn-happy-path,hn-fillers-and-carriers --telephone-band --snr 15
    callbot eval fixtures/hanoi/vi_hanoi.yaml --asr reference    # the fixture set, checked without a model
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from callbot.config import SettingsError, load_settings
from callbot.eval.fixtures import FixtureOptions, make_fixture_set
from callbot.eval.script import MalformedEvalFile
from callbot.tts import SpeechOutput, TtsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="+", type=Path, help="conversation scripts (YAML) with say: turns")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output folder (one YAML per script)")
    parser.add_argument("--cases", help="comma-separated case ids to keep (default: every case)")
    parser.add_argument(
        "--rate", type=int, default=8000, choices=(8000, 16000), help="sample rate (default 8000)"
    )
    parser.add_argument("--snr", type=float, help="add white noise at this signal-to-noise ratio in dB")
    parser.add_argument(
        "--telephone-band", action="store_true", help="band-pass 300-3400 Hz like a phone line"
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed (default 0: reproducible)")
    args = parser.parse_args(argv)
    options = FixtureOptions(
        rate=args.rate, snr_db=args.snr, telephone_band=args.telephone_band, seed=args.seed
    )
    case_ids = {c.strip() for c in args.cases.split(",") if c.strip()} if args.cases else None
    try:
        speech = SpeechOutput(load_settings())
        for script in args.scripts:
            wanted = None
            if case_ids is not None:
                wanted = case_ids & _case_ids(script)
                if not wanted:
                    continue
            written = make_fixture_set(script, args.out, speech, options, wanted)
            print(f"wrote {written}")
    except (MalformedEvalFile, SettingsError, TtsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _case_ids(script: Path) -> set[str]:
    from callbot.dialogue.lexicon import read_yaml_mapping

    cases = read_yaml_mapping(script, MalformedEvalFile, "a mapping with cases").get("cases") or []
    return {str(case.get("id")) for case in cases if isinstance(case, dict)}


if __name__ == "__main__":
    sys.exit(main())
