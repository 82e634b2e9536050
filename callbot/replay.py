"""Replaying a WAV through the same Listener a live call uses: segments, partials and finals on a timeline.

The file is read at any rate and channel count, converted to the call rate (as a SIP call would deliver it)
and cut into 20 ms frames; the Listener resamples speech to the recognizer's rate, exactly as in a call. The
product's own recordings are stereo, caller left and bot right (``callbot.recording``): ``channel`` picks one
(``replay_channel`` says which to take when none was asked for).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from typing import Literal

from callbot.asr import VoskModels, VoskRecognizer
from callbot.audio import AudioError, channel_count, read_wav
from callbot.config import Settings
from callbot.listener import (
    BargeIn,
    Final,
    Listener,
    ListenerEvent,
    ListenerStats,
    NoInputTimeout,
    Partial,
    SpeechStarted,
)
from callbot.recording import BOT_CHANNEL, CALLER_CHANNEL

ChannelChoice = Literal["caller", "bot", "mix"]
RECORDING_CHANNELS: dict[str, int] = {"caller": CALLER_CHANNEL, "bot": BOT_CHANNEL}


def replay_channel(path: Path, asked: ChannelChoice | None) -> tuple[int | None, str | None]:
    """The channel to hear (None: the only one, or all mixed) and a note for the user when it was chosen for
    them: a 2-channel file is taken as a call recording, whose caller is the left channel."""
    channels = channel_count(path)
    if asked == "mix" or (channels == 1 and asked in (None, "caller")):
        return None, None
    if channels == 1:
        raise AudioError(f"{path} is mono: it has no separate {asked} channel (leave --channel out)")
    if asked is None:
        return CALLER_CHANNEL, (f"note: {path.name} has {channels} channels: replaying the caller's (left, as in "
                                "the bot's call recordings); --channel bot or --channel mix for the others")
    return RECORDING_CHANNELS[asked], None


@dataclass(slots=True)
class ReplayResult:
    file: str
    rate: int
    duration: float
    events: list[ListenerEvent] = field(default_factory=list)
    stats: ListenerStats = field(default_factory=ListenerStats)

    @property
    def finals(self) -> list[Final]:
        return [event for event in self.events if isinstance(event, Final)]

    @property
    def segments(self) -> list[tuple[float, float]]:
        starts = [event.at for event in self.events if isinstance(event, SpeechStarted)]
        return [(start, final.speech_end) for start, final in zip(starts, self.finals)]

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "rate": self.rate,
            "duration": round(self.duration, 3),
            "asr_fraction": round(self.stats.asr_fraction, 3),
            "segments": [{"start": round(start, 3), "end": round(end, 3)} for start, end in self.segments],
            "partials": [
                {"at": round(event.at, 3), "text": event.text} for event in self.events if isinstance(event, Partial)
            ],
            "finals": [final.transcript.as_dict() for final in self.finals],
        }


def replay(
    path: Path,
    settings: Settings,
    model_path: Path | None,
    *,
    realtime: bool = False,
    channel: int | None = None,
    models: VoskModels | None = None,
    on_event: Callable[[ListenerEvent], None] | None = None,
) -> ReplayResult:
    """Run ``path`` through endpointing and recognition (``model_path`` None: record-only, no text); one
    ``channel`` of it, or all channels mixed (None)."""
    rate = settings.call_sample_rate
    audio = read_wav(path, rate, channel)
    recognizer = None
    if model_path is not None:
        model = (models or VoskModels()).get(model_path)
        recognizer = VoskRecognizer(model, settings.asr_sample_rate)
    listener = Listener(settings, recognizer, rate)
    listener.begin_turn(None)
    result = ReplayResult(file=str(path), rate=rate, duration=audio.duration, stats=listener.stats)
    began = time.monotonic()

    def take(events: list[ListenerEvent]) -> None:
        for event in events:
            result.events.append(event)
            if on_event is not None:
                on_event(event)

    for frame in audio.frames():
        if realtime:  # pace like a live call: frame N is available N x 20 ms after the start
            delay = began + frame.start - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        take(listener.feed(frame))
    take(listener.finish())
    return result


def describe(event: ListenerEvent) -> str:
    """One timeline line for a human."""
    match event:
        case SpeechStarted():
            return f"{event.at:8.2f}  speech starts"
        case Partial():
            return f"{event.at:8.2f}  partial: {event.text}"
        case Final():
            t = event.transcript
            text = t.text or "(no text)"
            return f"{event.at:8.2f}  final [{t.start:.2f}-{event.speech_end:.2f}] conf {t.confidence:.2f}: {text}"
        case NoInputTimeout():
            return f"{event.at:8.2f}  no input for {event.seconds:g} s"
        case BargeIn():
            return f"{event.at:8.2f}  barge-in"
    raise TypeError(f"not a listener event: {event!r}")
