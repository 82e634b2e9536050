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


def test_access_settings_are_checked() -> None:
    s = load_settings(operator_domains=["PBX.Example.org."], trusted_proxies=["10.0.0.0/8", "::1"], cookie_secure=True)
    assert s.operator_domains == ["pbx.example.org"] and s.trusted_proxies == ["10.0.0.0/8", "::1"] and s.cookie_secure
    with pytest.raises(SettingsError, match="CALLBOT_TRUSTED_PROXIES"):
        load_settings(trusted_proxies=["proxy.example"])
    with pytest.raises(SettingsError, match="CALLBOT_OPERATOR_DOMAINS"):
        load_settings(operator_domains=["pbx example"])


@pytest.mark.parametrize(("given", "shown"), [
    ("postgresql+psycopg://cb:s3cret@db:5432/callbot", "postgresql+psycopg://cb:***@db:5432/callbot"),
    ("postgresql+psycopg://cb:p@ss/w0rd@db/callbot", "postgresql+psycopg://cb:***@db/callbot"),  # unencoded @ and /
    ("postgresql://:s3cret@db/callbot", "postgresql://:***@db/callbot"),
    ("postgresql://db/callbot?user=cb&password=s3cret&sslmode=require",
     "postgresql://db/callbot?user=cb&password=***&sslmode=require"),
    ("sqlite:////var/lib/callbot/callbot.db", "sqlite:////var/lib/callbot/callbot.db"),
])
def test_redacted_dump_masks_database_passwords(given: str, shown: str) -> None:
    assert load_settings(database_url=given).redacted_dump()["database_url"] == shown


def test_redacted_dump_masks_every_secret() -> None:
    s = load_settings(secret_key="k-SECRET", sip_password="p-SECRET", sip_registrar="sip:bot:r-SECRET@pbx",
                      operator_uris=["sip:101:o-SECRET@pbx", "sip:102@pbx"], emergency_uri="sips:115:e-SECRET@pbx")
    dumped = s.redacted_dump()
    assert "SECRET" not in str(dumped)
    assert dumped["secret_key"] == dumped["sip_password"] == "***"
    assert dumped["operator_uris"] == ["sip:101:***@pbx", "sip:102@pbx"]
    assert load_settings().redacted_dump()["secret_key"] is None  # nothing set: nothing to mask
