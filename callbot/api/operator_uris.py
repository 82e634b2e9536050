"""Which operator URIs the PBX/ACD may push: in front-door mode the bot redirects citizens to an available
operator's URI, so an unknown URI is accepted only on a host of CALLBOT_OPERATOR_DOMAINS."""

from __future__ import annotations

from callbot.config import Settings


def sip_host(uri: str) -> str | None:
    """The host of a sip:/sips: URI (lower case, no port, no trailing dot), or None (tel: URIs, garbage)."""
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        return None
    hostport = rest.split("?", 1)[0].rsplit("@", 1)[-1].split(";", 1)[0]
    if hostport.startswith("["):
        host = hostport[: hostport.find("]") + 1] if "]" in hostport else ""
    else:
        host = hostport.split(":", 1)[0]
    host = host.lower().rstrip(".")
    return host or None


def in_domains(host: str, domains: list[str]) -> bool:
    """``host`` is one of ``domains`` or a subdomain of one (pbx.example.org is within example.org)."""
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def operator_uri_refusal(uri: str, settings: Settings, *, known: bool) -> str | None:
    """Why the URI may not be pushed, or None when it may: a configured or already registered operator, or a
    SIP URI whose host lies within CALLBOT_OPERATOR_DOMAINS."""
    if known or uri in settings.operator_uris:
        return None
    domains = settings.operator_domains
    allowed = ", ".join(domains) if domains else "none configured"
    host = sip_host(uri)
    if host is None:
        return (f"{uri!r} is not a known operator and names no SIP host; new operators must be SIP URIs within "
                f"CALLBOT_OPERATOR_DOMAINS ({allowed})")
    if in_domains(host, domains):
        return None
    return (f"operator host {host!r} is not within CALLBOT_OPERATOR_DOMAINS ({allowed}) and {uri!r} is not a "
            "known operator (CALLBOT_OPERATOR_URIS or already registered)")
