from pathlib import Path

import pytest

from callbot.config import SettingsError, load_settings


def test_defaults() -> None:
    s = load_settings()
    assert s.locale == "vi"
    assert s.end_silence_ms == 600
    assert s.call_sample_rate == 8000
    assert s.asr_model_for("en") == "vosk-model-small-en-us-0.15"
    assert s.effective_database_url.startswith("sqlite:///")


def test_env_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOT_LOCALE", "en")
    monkeypatch.setenv("CALLBOT_TRUSTED_PEERS", '["10.0.0.5"]')
    s = load_settings()
    assert s.locale == "en"
    assert s.trusted_peers == ["10.0.0.5"]


def test_toml_file_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "callbot.toml"
    cfg.write_text('locale = "en"\nend_silence_ms = 900\nsip_port = 5070\n', encoding="utf-8")
    monkeypatch.setenv("CALLBOT_SIP_PORT", "5080")
    s = load_settings(cfg)
    assert (s.locale, s.end_silence_ms, s.sip_port) == ("en", 900, 5080)


@pytest.mark.parametrize(
    ("env", "value", "named"),
    [
        ("CALLBOT_VAD_AGGRESSIVENESS", "7", "CALLBOT_VAD_AGGRESSIVENESS"),
        ("CALLBOT_LOCALE", "fr", "CALLBOT_LOCALE"),
        ("CALLBOT_CALL_SAMPLE_RATE", "11025", "CALLBOT_CALL_SAMPLE_RATE"),
        ("CALLBOT_END_SILENCE_MS", "soon", "CALLBOT_END_SILENCE_MS"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch, env: str, value: str, named: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=named):
        load_settings()


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(SettingsError, match="confidence_confirm"):
        load_settings(confidence_accept=0.3, confidence_confirm=0.6)


def test_worker_id_is_stable_and_derived_from_host_and_sip_port(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("CALLBOT_SIP_PORT", "5071")
    assert load_settings().effective_worker_id == f"{socket.gethostname()}-5071"
    monkeypatch.setenv("CALLBOT_WORKER_ID", "node-2.worker-3")
    assert load_settings().effective_worker_id == "node-2.worker-3"
    monkeypatch.setenv("CALLBOT_WORKER_ID", "two words")
    with pytest.raises(SettingsError, match="CALLBOT_WORKER_ID"):
        load_settings()
