#!/usr/bin/env python
"""Dialogue benchmark: loading the shared dialogue data (prompts, lexicons, the 3,321 wards), the memory it
holds, and the time one caller turn takes through the real policy, replaying the shipped conversation scripts.

    python scripts/bench_dialogue.py                  # all of tests/conversations/*.yaml, 20 rounds
    python scripts/bench_dialogue.py --rounds 5 tests/conversations/vi_hanoi.yaml
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

from callbot.call.effects import SimulatedCall, SimulatedEffects
from callbot.config import Settings
from callbot.dialogue import Conversation, DialogueResources
from callbot.eval.script import WavTurn, load_eval_file
from callbot.measures import percentile

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    files = args.files or sorted((REPO / "tests" / "conversations").glob("*.yaml"))
    settings = Settings(prompts_dir=REPO / "prompts")

    def load() -> DialogueResources:
        loaded = DialogueResources(settings)
        for locale in ("vi", "en"):
            loaded.context(locale)
        return loaded

    started = time.perf_counter()
    resources = load()  # the first load also imports the package's tables of units
    first_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    load()
    again_ms = (time.perf_counter() - started) * 1000
    tracemalloc.start()
    held = load()
    held_mb = tracemalloc.get_traced_memory()[0] / 1e6
    tracemalloc.stop()
    del held
    print(
        f"shared dialogue data: first load {first_ms:.0f} ms (with the vietnam-provinces import), "
        f"a rebuild {again_ms:.0f} ms, holds {held_mb:.1f} MB beyond the imported tables (tracemalloc)"
    )

    scripts = [load_eval_file(path, resources) for path in files]
    turn_ms: list[float] = []
    calls = 0
    for _ in range(args.rounds):
        for script in scripts:
            file_settings = settings.model_copy(update={"default_province": script.default_province})
            for case in script.cases:
                started = time.perf_counter()
                conversation = Conversation(
                    file_settings, locale=script.locale, call_id=case.id, resources=resources
                )
                call = SimulatedCall(conversation, SimulatedEffects(operators_free=case.operators_free))
                call.start()
                turn_ms.append((time.perf_counter() - started) * 1000)
                for turn in case.turns:
                    if isinstance(turn, WavTurn):
                        continue  # the policy alone is measured here; scripts/bench_tuning.py measures audio turns
                    for event in turn.events():
                        if call.ended:
                            break
                        started = time.perf_counter()
                        call.caller(event)
                        turn_ms.append((time.perf_counter() - started) * 1000)
                calls += 1
    print(
        f"{calls} calls, {len(turn_ms)} turns (call start counted as a turn): median {percentile(turn_ms, 50):.2f} "
        f"ms, p95 {percentile(turn_ms, 95):.2f} ms, max {max(turn_ms):.2f} ms per turn"
    )


if __name__ == "__main__":
    main()
