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


# --- list and mapping settings: JSON or the plain forms, for every one of them (issue 16) ----------------------
# A valid value for each list or mapping setting. A new one fails test_every_container_setting_has_a_sample until
# it gets a sample here, so no list or dict setting escapes the two forms.
CONTAINER_SAMPLES: dict[str, list[str] | dict[str, str]] = {
    "trusted_peers": ["10.0.0.0/8", "127.0.0.1"],
    "operator_uris": ["sip:101@pbx.example.org", "sip:102@pbx.example.org"],
    "operator_domains": ["pbx.example.org", "example.net"],
    "trusted_proxies": ["10.0.0.5", "192.168.0.0/16"],
    "edge_workers": ["10.0.0.11:5070", "10.0.0.12:5070;maxload=4"],
    "category_units": {"social_welfare": "P{province}-LABOUR", "medical_advice": "HEALTH-1"},
}


def container_settings() -> dict[str, str]:
    """Every list or dict setting of the Settings model, with its shape."""
    from callbot.config import Settings, _container_shape

    shapes = {name: _container_shape(field.annotation) for name, field in Settings.model_fields.items()}
    return {name: shape for name, shape in shapes.items() if shape is not None}


def plain_form(value: list[str] | dict[str, str]) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    return ",".join(value)


def test_every_container_setting_has_a_sample() -> None:
    assert set(container_settings()) == set(CONTAINER_SAMPLES)
    assert {"trusted_peers", "operator_uris", "category_units", "edge_workers"} <= set(CONTAINER_SAMPLES)


@pytest.mark.parametrize("name", sorted(CONTAINER_SAMPLES))
@pytest.mark.parametrize("form", ["json", "plain"])
def test_a_container_setting_reads_json_and_the_plain_form(monkeypatch: pytest.MonkeyPatch, name: str,
                                                           form: str) -> None:
    import json

    sample = CONTAINER_SAMPLES[name]
    monkeypatch.setenv(f"CALLBOT_{name.upper()}", json.dumps(sample) if form == "json" else plain_form(sample))
    assert getattr(load_settings(), name) == sample


@pytest.mark.parametrize("name", sorted(CONTAINER_SAMPLES))
def test_a_bad_container_value_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(f"CALLBOT_{name.upper()}", '["unclosed", ')
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value).count("\n") == 0 and f"CALLBOT_{name.upper()}" in str(raised.value)
    assert "not valid JSON" in str(raised.value)


def test_a_mapping_item_without_equals_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOT_CATEGORY_UNITS", "social_welfare=P{province}-LABOUR, medical")
    with pytest.raises(SettingsError, match=r"^invalid setting CALLBOT_CATEGORY_UNITS .*'medical' has no '='"):
        load_settings()


def test_the_plain_form_still_goes_through_each_setting_s_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOT_TRUSTED_PROXIES", "10.0.0.5, proxy.example")
    with pytest.raises(SettingsError, match="CALLBOT_TRUSTED_PROXIES.*not an IP address or network: 'proxy.example'"):
        load_settings()
    monkeypatch.setenv("CALLBOT_TRUSTED_PROXIES", "")
    assert load_settings().trusted_proxies == []  # set and empty: none


# --- the config file: missing or malformed is one clear line ---------------------------------------------------
def test_a_missing_config_file_named_by_the_environment_is_an_error(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOT_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(SettingsError, match=r"^config file not found: .*missing\.toml \(CALLBOT_CONFIG\)$"):
        load_settings()


def test_a_toml_syntax_error_names_the_file_line_and_column(tmp_path: Path) -> None:
    cfg = tmp_path / "callbot.toml"
    cfg.write_text('locale = "vi"\nsip_port = 5070\nhttp_host = "127.0.0.1\n', encoding="utf-8")
    with pytest.raises(SettingsError) as raised:
        load_settings(cfg)
    message = str(raised.value)
    assert message.count("\n") == 0 and str(cfg) in message and "line 3, column 23" in message, message


def test_an_unknown_setting_in_the_file_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "callbot.toml"
    cfg.write_text('locale = "vi"\ntrusted_peer = "10.0.0.1"\n', encoding="utf-8")
    with pytest.raises(SettingsError, match=r"^unknown setting 'trusted_peer'"):
        load_settings(cfg)


@pytest.mark.parametrize(("env", "expected"), [
    ({"CALLBOT_CONFIG": "missing.toml"}, "error: config file not found: missing.toml (CALLBOT_CONFIG)"),
    ({"CALLBOT_CONFIG": "bad.toml"}, "error: config file bad.toml, line 1, column 13: TOML syntax error"),
    ({"CALLBOT_TRUSTED_PEERS": "[10.0.0.0/8"}, "error: invalid setting CALLBOT_TRUSTED_PEERS"),
    ({"CALLBOT_CATEGORY_UNITS": "oops"}, "error: invalid setting CALLBOT_CATEGORY_UNITS"),
])
def test_the_cli_reports_a_bad_configuration_in_one_line(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "bad.toml").write_text('locale = "vi\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "callbot", "config"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(expected), done.stderr
