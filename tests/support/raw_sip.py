"""A minimal SIP user agent over raw UDP, for tests that need a call's dialog identifiers.

``RawSipCaller`` places a call (INVITE with a PCMU offer, ACK along the Record-Route), keeps the dialog
(Call-ID, both tags, route set, remote target) and ends it with a BYE. ``send_in_dialog`` forges a request inside
that dialog from any local address, the way an attacker who sniffed the identifiers would: the edge and the
workers must refuse it by its source, whatever its headers say.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from dataclasses import dataclass, field

COMPACT = {"i": "call-id", "f": "from", "t": "to", "m": "contact", "v": "via", "l": "content-length", "c": "content-type"}


@dataclass
class SipMessage:
    first_line: str
    headers: list[tuple[str, str]]  # (lower-case full name, value) in order
    body: str = ""

    @property
    def status(self) -> int | None:
        match = re.match(r"SIP/2\.0 (\d{3})", self.first_line)
        return int(match.group(1)) if match else None

    @property
    def method(self) -> str | None:
        return None if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name), None)

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


def parse(data: bytes) -> SipMessage:
    text = data.decode("utf-8", "replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers.append((COMPACT.get(key, key), value.strip()))
    return SipMessage(lines[0], headers, body)


def tag_of(header: str) -> str | None:
    match = re.search(r";\s*tag=([^;>\s]+)", header)
    return match.group(1) if match else None


def uri_of(header: str) -> str:
    match = re.search(r"<([^>]+)>", header)
    return match.group(1) if match else header.split(";", 1)[0].strip()


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    from_header: str  # ours, with our tag
    to_header: str  # theirs, with their tag
    remote_target: str  # the Contact of the 200 OK: the worker
    route_set: list[str]  # Record-Route of the 200 OK, reversed (we are the caller)
    cseq: int = 1
    refused_status: int | None = None
    answer_sdp: str = ""  # the 200 OK's SDP: where the far end wants our RTP


def route_headers(dialog: Dialog) -> str:
    return "".join(f"Route: {route}\r\n" for route in dialog.route_set)


def next_hop(dialog: Dialog) -> tuple[str, int]:
    """The first Route's address (loose routing), else the remote target's."""
    uri = uri_of(dialog.route_set[0]) if dialog.route_set else dialog.remote_target
    match = re.match(r"sips?:(?:[^@]+@)?\[?([0-9a-fA-F.:]+?)\]?(?::(\d+))?(?:;|$)", uri)
    assert match, uri
    return match.group(1), int(match.group(2) or 5060)


@dataclass
class RawSipCaller:
    bind_host: str = "127.0.0.1"
    sock: socket.socket = field(init=False)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.bind_host, 0))
        self.port = self.sock.getsockname()[1]
        self.media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the bot's RTP lands here, unread
        self.media.bind((self.bind_host, 0))

    def close(self) -> None:
        self.sock.close()
        self.media.close()

    def _via(self) -> str:
        return f"SIP/2.0/UDP {self.bind_host}:{self.port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}"

    def _send(self, text: str, address: tuple[str, int]) -> None:
        self.sock.sendto(text.encode(), address)

    def receive(self, timeout: float) -> SipMessage | None:
        self.sock.settimeout(max(0.01, timeout))
        try:
            data, _ = self.sock.recvfrom(65535)
        except TimeoutError:
            return None
        return parse(data)

    def final_response(self, call_id: str, cseq_method: str, timeout: float) -> SipMessage | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.receive(deadline - time.monotonic())
            if message is None:
                return None
            if message.method is not None:  # a request from the far end inside our dialog: acknowledge it
                self._answer_request(message)
                continue
            cseq = message.header("cseq") or ""
            if message.header("call-id") == call_id and cseq.endswith(cseq_method) and (message.status or 0) >= 200:
                return message
        return None

    def _answer_request(self, request: SipMessage) -> None:
        if request.method == "ACK":
            return
        via = "".join(f"Via: {value}\r\n" for value in request.all("via"))
        response = (f"SIP/2.0 200 OK\r\n{via}From: {request.header('from')}\r\nTo: {request.header('to')}\r\n"
                    f"Call-ID: {request.header('call-id')}\r\nCSeq: {request.header('cseq')}\r\nContent-Length: 0\r\n\r\n")
        top = request.all("via")[0]
        match = re.search(r"SIP/2\.0/UDP ([^;:]+):?(\d+)?", top)
        received = re.search(r"received=([^;]+)", top)
        rport = re.search(r"rport=(\d+)", top)
        host = received.group(1) if received else match.group(1)  # type: ignore[union-attr]
        port = int(rport.group(1)) if rport else int(match.group(2) or 5060)  # type: ignore[union-attr]
        self._send(response, (host, port))

    def invite(self, host: str, port: int, user: str = "hotline", timeout: float = 15.0) -> Dialog:
        call_id = f"{uuid.uuid4().hex}@{self.bind_host}"
        local_tag = uuid.uuid4().hex[:10]
        from_header = f"<sip:caller@{self.bind_host}:{self.port}>;tag={local_tag}"
        to_uri = f"sip:{user}@{host}:{port}"
        sdp = (f"v=0\r\no=raw 1 1 IN IP4 {self.bind_host}\r\ns=-\r\nc=IN IP4 {self.bind_host}\r\nt=0 0\r\n"
               f"m=audio {self.media.getsockname()[1]} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\n")
        request = (f"INVITE {to_uri} SIP/2.0\r\nVia: {self._via()}\r\nMax-Forwards: 70\r\nFrom: {from_header}\r\n"
                   f"To: <{to_uri}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
                   f"Contact: <sip:caller@{self.bind_host}:{self.port}>\r\nContent-Type: application/sdp\r\n"
                   f"Content-Length: {len(sdp)}\r\n\r\n{sdp}")
        self._send(request, (host, port))
        response = self.final_response(call_id, "INVITE", timeout)
        assert response is not None, f"no final response to the INVITE to {host}:{port}"
        dialog = Dialog(call_id, local_tag, tag_of(response.header("to") or "") or "", from_header,
                        response.header("to") or "", uri_of(response.header("contact") or to_uri),
                        list(reversed([r.strip() for h in response.all("record-route") for r in h.split(",")])))
        if response.status != 200:
            dialog.refused_status = response.status
            return dialog
        dialog.answer_sdp = response.body
        ack = (f"ACK {dialog.remote_target} SIP/2.0\r\nVia: {self._via()}\r\nMax-Forwards: 70\r\n{route_headers(dialog)}"
               f"From: {from_header}\r\nTo: {dialog.to_header}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\n"
               f"Content-Length: 0\r\n\r\n")
        self._send(ack, next_hop(dialog))
        return dialog

    def request(self, dialog: Dialog, method: str, timeout: float = 10.0) -> int | None:
        """A request of ours inside the dialog (BYE to end it); the final status, or None if none came."""
        dialog.cseq += 1
        text = (f"{method} {dialog.remote_target} SIP/2.0\r\nVia: {self._via()}\r\nMax-Forwards: 70\r\n"
                f"{route_headers(dialog)}From: {dialog.from_header}\r\nTo: {dialog.to_header}\r\n"
                f"Call-ID: {dialog.call_id}\r\nCSeq: {dialog.cseq} {method}\r\nContent-Length: 0\r\n\r\n")
        self._send(text, next_hop(dialog))
        response = self.final_response(dialog.call_id, method, timeout)
        return response.status if response else None


def send_in_dialog(dialog: Dialog, method: str, *, source_host: str, to: tuple[str, int], headers: str = "",
                   body: str = "", content_type: str | None = None, timeout: float = 5.0) -> int | None:
    """Forge ``method`` inside ``dialog`` from ``source_host``, sent to ``to``; the final status or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source_host, 0))
        port = sock.getsockname()[1]
        cseq = dialog.cseq + 100
        typed = f"Content-Type: {content_type}\r\n" if content_type else ""
        text = (f"{method} {dialog.remote_target} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {source_host}:{port};rport;branch=z9hG4bK{uuid.uuid4().hex[:16]}\r\n"
                f"Max-Forwards: 70\r\n{route_headers(dialog)}From: {dialog.from_header}\r\nTo: {dialog.to_header}\r\n"
                f"Call-ID: {dialog.call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@{source_host}:{port}>\r\n"
                f"{headers}{typed}Content-Length: {len(body)}\r\n\r\n{body}")
        sock.sendto(text.encode(), to)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, _ = sock.recvfrom(65535)
            except TimeoutError:
                return None
            response = parse(data)
            if (response.status or 0) >= 200:
                if method == "INVITE":  # a final answer to an INVITE is acknowledged hop by hop
                    via = response.all("via")[0]
                    sock.sendto((f"ACK {dialog.remote_target} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n"
                                 f"From: {dialog.from_header}\r\nTo: {response.header('to')}\r\n"
                                 f"Call-ID: {dialog.call_id}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n").encode(), to)
                return response.status
        return None
