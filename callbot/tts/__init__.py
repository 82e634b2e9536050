"""Speech output: one synthesizer interface (Piper, espeak-ng, Coqui), text preparation, the prompt cache and
``SpeechOutput``, which streams PCM16 at the call rate, sentence by sentence, cancellable, at one loudness."""

from callbot.tts.cache import BuildReport, PromptCache
from callbot.tts.engine import DEFAULT_VOICES, ENGINES, ResolvedVoice, Synthesizer, TtsError, VoiceNotFound
from callbot.tts.speech import SpeechOutput, SpeechStats

__all__ = [
    "DEFAULT_VOICES",
    "ENGINES",
    "BuildReport",
    "PromptCache",
    "ResolvedVoice",
    "SpeechOutput",
    "SpeechStats",
    "Synthesizer",
    "TtsError",
    "VoiceNotFound",
]
