"""Benchmark the end of turn: the plain timer against the smart decision, side by side on the same audio.

The fixture set: Vietnamese answers to every kind of question (name, address, ward, need, yes/no, a keypad-like
digit string said aloud), spoken by espeak-ng (voices vi, vi-vn-x-central, vi-vn-x-south; two speaking rates)
at the 8 kHz call rate, clean and with white noise at 20 and 10 dB SNR. Every answer comes twice: fluent (one
utterance) and with mid-answer pauses of 400-1,500 ms at natural places (inside addresses and house numbers,
between a name's syllables, after "tôi cần", after a hesitation): each part is synthesized on its own (a
mid-answer part ends with a comma, so espeak gives it continuation intonation), so where the speech really ends
is known (measured by energy on each part).

Each turn runs through the live path: the call's ``TurnTaker`` over a ``Listener`` (webrtcvad endpointing)
after the question's ``Ask`` as the policy builds it (``callbot.dialogue.asking.ask``). Detectors:

- ``timer``: CALLBOT_TURN_DETECTOR=timer (600 ms of silence; 1,200 ms for the address and the ward);
- ``smart``: the end-of-turn decision with both signals. There is no Vietnamese Vosk model on this machine, so
  the text signal reads REFERENCE PARTIALS: at each moment the words of the parts already spoken, i.e. a
  perfect recognizer with no lag. Real partials lag and err; these figures are an upper bound for the text;
- ``smart-audio``: the decision with the audio signal only (no partials: what record-only mode gets);
- ``smart-text``: the text signal only (no turn model; a turn the words do not settle ends at the timer).

Per detector, per question kind and overall: cut-off rate (a turn declared over while the answer still had
speech to come), end-of-turn delay p50/p95 (end of the answer's speech -> turn declared over, turns not cut
off), turns the VAD never heard, and CPU per turn (process time of the whole listening path, turn model
included). Goal: cut-offs <= 3% with p50 <= 300 ms and p95 <= 600 ms, every kind included.

    python scripts/bench_turns.py            # the whole set: 6 kinds x 6 answers x 2 versions x 18 conditions
    python scripts/bench_turns.py --quick    # one voice, one rate, clean and 10 dB
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from callbot.audio import frames_of, pcm16_to_float, speech_bounds, to_pcm16
from callbot.call.turns import CallerTurn, TurnTaker
from callbot.config import Settings
from callbot.dialogue.asking import ask as policy_ask
from callbot.dialogue.resources import DialogueResources
from callbot.dialogue.state import DialogueState
from callbot.dialogue.text import words
from callbot.eval.fixtures import add_noise
from callbot.eval.metrics import turn_timing
from callbot.eval.reference import ReferencePartials
from callbot.measures import percentile
from callbot.listener import Listener
from callbot.turn_end import EndOfTurnFactory, TurnModel, load_turn_model
from callbot.types import Ask, Question

RATE = 8000
LEAD_S = 0.8  # line noise before the answer (the VAD's warm-up and noise gauge)
VOICES = ("vi", "vi-vn-x-central", "vi-vn-x-south")
SPEEDS = (140, 185)  # espeak words per minute
NOISE = (None, 20.0, 10.0)  # SNR in dB; None = clean

# "|" marks where the paused version pauses; the fluent version says the whole answer as one utterance.
ANSWERS: dict[str, tuple[str, ...]] = {
    "name": ("tôi tên là | nguyễn văn an", "nguyễn | thị hoa", "tên tôi là trần | văn hùng", "lê thị | thu hà",
             "tôi là phạm | minh tuấn", "họ tên tôi là | đỗ thị lan"),
    "address": ("số mười hai | ngõ ba mươi tư phố huế", "nhà tôi ở số | bốn mươi lăm đường trần phú phường hà đông",
                "ngõ một trăm | linh năm phố khâm thiên", "số năm mươi hai | ngõ tám phố tôn đức thắng phường láng",
                "số nhà mười | tổ hai | phường kim liên", "hai mươi | ba phố hàng bông phường hoàn kiếm"),
    "ward": ("phường | hai bà trưng", "ờ | phường kim liên", "xã | gia lâm", "phường | đống đa",
             "ờ | phường hoàn kiếm", "phường | ba đình"),
    "need": ("tôi cần | hỗ trợ gạo và nước uống", "nhà tôi bị | ngập cần hỗ trợ lương thực",
             "con tôi bị sốt cao | cần thuốc hạ sốt", "tôi muốn phản ánh | đường bị hỏng nhiều ổ gà",
             "tôi cần | thuốc cho mẹ già sống một mình", "cho tôi hỏi | về trợ cấp cho người khuyết tật"),
    "yes_no": ("ờ | đúng rồi", "dạ | vâng", "à | không phải", "ừm | đúng vậy", "ờ | không", "dạ | đúng rồi ạ"),
    "digits": ("một hai ba bốn | năm sáu bảy tám", "không chín | một hai ba | bốn năm sáu",
               "tám bảy sáu năm | bốn ba hai một", "hai không hai | năm một một | không chín",
               "chín chín | tám tám | bảy bảy | sáu sáu", "năm năm năm | một hai | ba bốn năm"),
}
QUESTION = {"name": "name", "address": "address", "ward": "ward", "need": "need", "yes_no": "readback"}
DIGITS_WANTED = 8  # a ticket number said digit by digit (the status lookup's keypad entry)


@dataclass(frozen=True)
class Turn:
    kind: str
    answer: str
    paused: bool
    voice: str
    speed: int
    snr_db: float | None
    pcm: bytes  # lead noise, the answer, trailing noise
    parts: tuple[tuple[float, float, str], ...]  # (start, end, words) of each spoken part, stream seconds

    @property
    def speech_end(self) -> float:
        return self.parts[-1][1]


@dataclass
class Outcome:
    kind: str
    paused: bool
    cut_off: bool
    heard: bool
    end_of_turn_ms: float | None
    cpu_s: float


class Speaker:
    """espeak-ng parts at the call rate, trimmed to their speech (cached per text, voice and speed)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, int], np.ndarray] = {}

    def say(self, text: str, voice: str, speed: int) -> np.ndarray:
        key = (text, voice, speed)
        if key not in self._cache:
            raw = subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
                                 capture_output=True, check=True).stdout
            pcm = subprocess.run(["sox", "-q", "-t", "wav", "-", "-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed",
                                  "-t", "raw", "-"], input=raw, capture_output=True, check=True).stdout
            bounds = speech_bounds(pcm, RATE)
            assert bounds is not None, f"espeak-ng said nothing for {text!r}"
            samples = pcm16_to_float(pcm)
            self._cache[key] = samples[round(bounds[0] * RATE) : round(bounds[1] * RATE)]
        return self._cache[key]


def build_turns(voices: Sequence[str], speeds: Sequence[int], noises: Sequence[float | None],
                tail_s: float) -> list[Turn]:
    speaker = Speaker()
    rng = np.random.default_rng(13)
    turns = []
    for kind, answers in ANSWERS.items():
        for answer, voice, speed, snr in itertools.product(answers, voices, speeds, noises):
            segments = [part.strip() for part in answer.split("|")]
            for paused in (False, True):
                texts = segments if paused else [" ".join(segments)]
                pieces: list[np.ndarray] = [np.zeros(round(LEAD_S * RATE))]
                parts = []
                cursor = LEAD_S
                for index, text in enumerate(texts):
                    last = index == len(texts) - 1
                    speech = speaker.say(text + ("." if last else ","), voice, speed)
                    parts.append((cursor, cursor + len(speech) / RATE, " ".join(words(text))))
                    pieces.append(speech)
                    cursor += len(speech) / RATE
                    gap = tail_s if last else float(rng.uniform(0.4, 1.5))
                    pieces.append(np.zeros(round(gap * RATE)))
                    cursor += gap
                pcm = to_pcm16(np.concatenate(pieces))
                if snr is not None:
                    pcm = add_noise(pcm, RATE, snr, rng)
                else:  # a quiet line, not digital silence
                    pcm = to_pcm16(pcm16_to_float(pcm) + rng.normal(0.0, 10 ** (-70 / 20), len(pcm) // 2))
                turns.append(Turn(kind, answer, paused, voice, speed, snr, pcm, tuple(parts)))
    return turns


def ask_for(kind: str, resources: DialogueResources, settings: Settings) -> Ask:
    """The question as the policy asks it (its silences and, for the ward and yes/no, its phrases)."""
    if kind == "digits":
        base = policy_ask(DialogueState("bench", "vi"), resources.context("vi", settings), Question.name,
                          "ask_name")[1][0]
        return replace(base, slot="ticket", phrases=None, dtmf_digits=DIGITS_WANTED, end_silence_ms=None)
    step = policy_ask(DialogueState("bench", "vi"), resources.context("vi", settings), Question(QUESTION[kind]),
                      f"ask_{QUESTION[kind]}" if kind != "yes_no" else "readback",
                      name="", address="", need="")
    return step[1][0]


def run_turn(turn: Turn, ask: Ask, settings: Settings, factory: EndOfTurnFactory, resources: DialogueResources,
             partials: bool) -> Outcome:
    recognizer = ReferencePartials(turn.parts) if partials else None
    end_of_turn = factory.for_call(resources.locale("vi").lexicon, RATE)
    listener = Listener(settings, recognizer, RATE, end_of_turn)
    clock_now = [0.0]
    taker = TurnTaker(listener, lambda: clock_now[0])
    taker.prompt(ask)
    taker.speaking(None)
    declared: list[float] = []
    began = time.process_time()
    for frame in frames_of(turn.pcm, RATE):
        clock_now[0] = frame.end
        if recognizer is not None:
            recognizer.now = frame.end
        for out in taker.feed(frame, arrived_at=frame.end):
            if isinstance(out, CallerTurn) and out.kind == "speech" and out.ended is not None:
                declared.append(out.ended.declared_at)
    cpu = time.process_time() - began
    timing = turn_timing(declared, turn.speech_end)  # the same measure as callbot eval's turn_taking
    if timing is None:
        return Outcome(turn.kind, turn.paused, False, False, None, cpu)
    return Outcome(turn.kind, turn.paused, timing.cut_off, True, timing.end_of_turn_ms, cpu)


@dataclass
class Detector:
    name: str
    settings: Settings
    factory: EndOfTurnFactory
    partials: bool
    outcomes: list[Outcome] = field(default_factory=list)


def summary(outcomes: Sequence[Outcome]) -> str:
    heard = [o for o in outcomes if o.heard]
    cuts = sum(o.cut_off for o in heard)
    eots = [o.end_of_turn_ms for o in heard if o.end_of_turn_ms is not None]
    p50 = f"{percentile(eots, 50):5.0f}" if eots else "    -"
    p95 = f"{percentile(eots, 95):5.0f}" if eots else "    -"
    rate = cuts / len(heard) if heard else 0.0
    missed = len(outcomes) - len(heard)
    return (f"{len(outcomes):5d}  {cuts:4d} {rate:6.1%}  {p50} {p95}  {missed:6d}  "
            f"{statistics.mean(o.cpu_s for o in outcomes) * 1000:6.1f}")


def report(detectors: Sequence[Detector], turns: Sequence[Turn]) -> None:
    kinds = list(ANSWERS)
    print(f"\n{len(turns)} turns ({sum(t.paused for t in turns)} with mid-answer pauses of 400-1500 ms), 8 kHz, "
          f"voices {', '.join(sorted({t.voice for t in turns}))}, rates {sorted({t.speed for t in turns})} wpm, "
          f"noise {sorted({'clean' if t.snr_db is None else f'{t.snr_db:g} dB' for t in turns})}")
    print("smart: text signal from REFERENCE PARTIALS (a perfect recognizer: no Vietnamese Vosk model here)\n")
    header = f"{'detector':12} {'kind':8} {'turns':>5} {'cuts':>5} {'rate':>6}  {'p50':>5} {'p95':>5}  {'missed':>6}  {'cpu ms':>6}"
    print(header)
    print("-" * len(header))
    for detector in detectors:
        for kind in [*kinds, "all"]:
            chosen = [o for o in detector.outcomes if kind in ("all", o.kind)]
            print(f"{detector.name:12} {kind:8} {summary(chosen)}")
        paused = [o for o in detector.outcomes if o.paused]
        print(f"{detector.name:12} {'(paused)':8} {summary(paused)}")
        print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one voice, one rate, clean and 10 dB")
    parser.add_argument("--detectors", nargs="+", default=["timer", "smart", "smart-audio", "smart-text"])
    parser.add_argument("--threshold", type=float, default=None, help="CALLBOT_TURN_THRESHOLD for smart")
    parser.add_argument("--min-silence", type=int, default=None, help="CALLBOT_TURN_MIN_SILENCE_MS for smart")
    args = parser.parse_args()
    base = Settings(call_sample_rate=RATE, default_province="Hà Nội", turn_detector="smart")
    if args.threshold is not None:
        base = base.model_copy(update={"turn_threshold": args.threshold})
    if args.min_silence is not None:
        base = base.model_copy(update={"turn_min_silence_ms": args.min_silence})
    resources = DialogueResources(base)
    model: TurnModel | None = load_turn_model(base)
    assert model is not None, "the turn model is missing: callbot models pull smart-turn-v3.2"
    built: dict[str, Callable[[], Detector]] = {
        "timer": lambda: Detector("timer", base.model_copy(update={"turn_detector": "timer"}),
                                  EndOfTurnFactory(base.model_copy(update={"turn_detector": "timer"}), None), False),
        "smart": lambda: Detector("smart", base, EndOfTurnFactory(base, model), True),
        "smart-audio": lambda: Detector("smart-audio", base, EndOfTurnFactory(base, model), False),
        "smart-text": lambda: Detector("smart-text", base, EndOfTurnFactory(base, None), True),

    }
    detectors = [built[name]() for name in args.detectors]
    tail_s = max(base.address_max_silence_ms, base.turn_max_silence_ms, base.address_end_silence_ms) / 1000 + 0.5
    voices, speeds, noises = (VOICES[:1], SPEEDS[:1], (None, 10.0)) if args.quick else (VOICES, SPEEDS, NOISE)
    began = time.monotonic()
    turns = build_turns(voices, speeds, noises, tail_s)
    print(f"built {len(turns)} turns in {time.monotonic() - began:.1f} s")
    asks = {kind: ask_for(kind, resources, base) for kind in ANSWERS}
    for detector in detectors:
        began = time.monotonic()
        detector.outcomes = [run_turn(turn, asks[turn.kind], detector.settings, detector.factory, resources,
                                      detector.partials) for turn in turns]
        print(f"{detector.name}: {time.monotonic() - began:.1f} s")
    report(detectors, turns)


if __name__ == "__main__":
    main()
