import numpy as np
import pytest

from callbot.audio import (
    Audio,
    AudioError,
    Frame,
    StreamResampler,
    frames_of,
    read_wav,
    resample,
    rms_dbfs,
    to_pcm16,
    write_wav,
)


def tone(freq: float, rate: int, seconds: float, amp: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return to_pcm16(amp * np.sin(2 * np.pi * freq * t))


def dominant_freq(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def test_frame_size_is_checked() -> None:
    Frame(b"\x00" * 320, 8000)
    with pytest.raises(AudioError, match="320 bytes"):
        Frame(b"\x00" * 100, 8000)


@pytest.mark.parametrize(("src", "dst"), [(8000, 16000), (16000, 8000), (22050, 8000), (22050, 16000)])
def test_resample_keeps_pitch_and_length(src: int, dst: int) -> None:
    out = resample(tone(440, src, 1.0), src, dst)
    assert abs(len(out) / 2 - dst) <= 2
    assert abs(dominant_freq(out, dst) - 440) < 3


def test_downsampling_removes_content_above_nyquist() -> None:
    out = resample(tone(6000, 16000, 0.5), 16000, 8000)
    assert rms_dbfs(out) < -40  # a real low-pass, not sample dropping (which would alias to 2 kHz)


def test_stream_resampler_matches_length() -> None:
    pcm = tone(300, 22050, 1.0)
    rs = StreamResampler(22050, 8000)
    chunks = [rs.process(pcm[i : i + 882]) for i in range(0, len(pcm), 882)]
    out = b"".join(chunks) + rs.process(b"", last=True)
    assert abs(len(out) / 2 - 8000) <= 16


def test_wav_roundtrip_any_rate_and_channels(tmp_path) -> None:
    left = np.frombuffer(tone(440, 22050, 0.5), dtype="<i2")
    stereo = np.stack([left, left], axis=1).astype("<i2").tobytes()
    path = write_wav(tmp_path / "s.wav", stereo, 22050, channels=2)
    audio = read_wav(path, rate=16000)
    assert audio.rate == 16000
    assert abs(audio.duration - 0.5) < 0.01
    assert abs(dominant_freq(audio.pcm, 16000) - 440) < 3


def test_unreadable_file_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF garbage")
    with pytest.raises(AudioError, match="cannot read audio file"):
        read_wav(bad)


def test_frames_cover_the_clip() -> None:
    audio = Audio(b"\x01\x00" * 8100, 8000)
    frames = list(audio.frames())
    assert len(frames) == 51
    assert frames[-1].start == pytest.approx(1.0)
    assert len(list(frames_of(audio.pcm, 8000, pad_last=False))) == 50
