"""pjsua's C API through ctypes, for what the pjsua2 SWIG layer does not expose.

``callbot/telephony/pjsip/`` (the only package importing pjsua2) hands this module the path of the already
loaded ``_pjsua2`` extension; every symbol used here is exported by it (``nm -D``). Three things:

- the call limit pjsua really applies: ``pjsua_call_get_max_count()`` after ``libInit`` returns the requested
  ``maxCalls`` clamped to the compiled ``PJSUA_MAX_CALLS`` (measured: 1000 requested -> 4 on the PyPI wheel;
  ``pj.EpConfig().uaConfig.maxCalls`` only shows pjsua's default of min(PJSUA_MAX_CALLS, 4));
- the number of calls pjsua holds (``pjsua_call_get_count()``), which counts calls still being set up;
- ``RequestGuard``: two pjsip modules that see requests before pjsua does. pjsua creates a call's media
  transports (two sockets on a 64-handle select ioqueue, each held 500 ms after release) in
  ``pjsua_call_on_incoming`` *before* any application callback, so a burst of INVITEs refused by the application
  exhausts the ioqueue and aborts the process. Refusing here, statelessly, allocates nothing.
  The source module (priority 31, before the UA layer dispatches in-dialog requests) refuses every request from
  an untrusted source, in-dialog ones included; the initial-INVITE module (priority 33, after the UA layer has
  consumed in-dialog requests) applies the media budget to new calls.
"""

from __future__ import annotations

import ctypes
import ipaddress
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

PRIORITY_BEFORE_DIALOGS = 31  # PJSIP_MOD_PRIORITY_UA_PROXY_LAYER (32) routes in-dialog requests to their dialog
PRIORITY_AFTER_DIALOGS = 33
SCAN_LIMIT_BYTES = 16384  # pjsip_rx_data is ~4.5 kB with PJSIP_MAX_PKT_LEN 4000 (msg_info.info at 4448 here)
MAX_PACKET_BYTES = 65536  # a sane bound on msg_info.len before reading the raw packet
SWALLOW = 0  # a verdict: drop the request without any response (an ACK cannot be answered)


class PjStr(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_void_p), ("slen", ctypes.c_ssize_t)]


RxCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class PjsipModule(ctypes.Structure):
    """struct pjsip_module (sip_module.h, unchanged since pjsip 1.x)."""

    _fields_ = [
        ("prev", ctypes.c_void_p), ("next", ctypes.c_void_p), ("name", PjStr), ("id", ctypes.c_int),
        ("priority", ctypes.c_int), ("load", ctypes.c_void_p), ("start", ctypes.c_void_p),
        ("stop", ctypes.c_void_p), ("unload", ctypes.c_void_p), ("on_rx_request", RxCallback),
        ("on_rx_response", ctypes.c_void_p), ("on_tx_request", ctypes.c_void_p),
        ("on_tx_response", ctypes.c_void_p), ("on_tsx_state", ctypes.c_void_p),
    ]


class PjsuaLibrary:
    """The C functions of the loaded pjsua2 extension (same handle: dlopen of a loaded object is a lookup)."""

    def __init__(self, path: str) -> None:
        lib = ctypes.CDLL(path)
        lib.pjsua_call_get_max_count.restype = ctypes.c_uint
        lib.pjsua_call_get_count.restype = ctypes.c_uint
        lib.pjsua_get_pjsip_endpt.restype = ctypes.c_void_p
        lib.pjsip_rx_data_get_info.restype = ctypes.c_void_p
        lib.pjsip_rx_data_get_info.argtypes = [ctypes.c_void_p]
        lib.pjsip_endpt_respond_stateless.argtypes = [ctypes.c_void_p] * 2 + [ctypes.c_int] + [ctypes.c_void_p] * 3
        lib.pjsip_endpt_register_module.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.pjsip_endpt_unregister_module.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self._lib = lib

    def call_limit(self) -> int:
        """Calls pjsua accepts at once (after libInit): the requested maxCalls clamped to PJSUA_MAX_CALLS."""
        return int(self._lib.pjsua_call_get_max_count())

    def call_count(self) -> int:
        """Calls pjsua holds now, including ones being set up or torn down."""
        return int(self._lib.pjsua_call_get_count())

    @property
    def c(self) -> ctypes.CDLL:
        return self._lib


@dataclass(frozen=True, slots=True)
class RxRequest:
    method: str
    source_host: str  # the transport source (pjsip's rdata->pkt_info.src_name), never a header's claim
    source_port: int
    call_id: str = ""  # an INVITE's Call-ID header (to log a refusal by; never the From, the caller's number)


CALL_ID_HEADER = re.compile(rb"^(?:call-id|i)[ \t]*:[ \t]*([^\s]{1,128})", re.IGNORECASE | re.MULTILINE)


def call_id_of(packet: bytes) -> str:
    """The Call-ID of a raw SIP message (full or compact form), or "" when it has none."""
    head = packet.split(b"\r\n\r\n", 1)[0]
    found = CALL_ID_HEADER.search(head)
    return found.group(1).decode("ascii", "replace") if found else ""


class RxDataLayout:
    """Reads method and transport source from a ``pjsip_rx_data*``.

    The method comes from ``pjsip_rx_data_get_info`` ("Request msg INVITE/cseq=1 (rdata0x...)"), which caches
    its string in ``rdata->msg_info.info``. Finding that pointer inside the struct gives ``msg_info``'s offset;
    ``pkt_info`` ends right before it with ``src_addr_len, src_name[46], src_port`` (sip_transport.h), so
    src_name is 56 bytes and src_port 8 bytes before msg_info whatever PJSIP_MAX_PKT_LEN is. Every read is
    checked (the raw packet starts with the method, src_name is an IP address); a mismatch raises ValueError."""

    def __init__(self, library: PjsuaLibrary) -> None:
        self._c = library.c
        self._info_offset: int | None = None

    def read(self, rdata: int) -> RxRequest:
        info_address = self._c.pjsip_rx_data_get_info(rdata)
        info = ctypes.string_at(info_address).decode("ascii", "replace")
        if not info.startswith("Request msg "):
            raise ValueError(f"unexpected rx info {info[:40]!r}")
        method = info[len("Request msg "):].split("/", 1)[0]
        if self._info_offset is None:
            self._info_offset = self._find_pointer(rdata, info_address)
        msg_info = rdata + self._info_offset - 24  # msg_buf (char*), len (int, padded), msg (pjsip_msg*), info
        packet = ctypes.c_void_p.from_address(msg_info).value
        if not packet or not ctypes.string_at(packet, len(method) + 1).decode("ascii", "replace") == f"{method} ":
            raise ValueError("rx data layout check failed (packet)")
        source_host = ctypes.string_at(msg_info - 56).decode("ascii", "replace")
        source_port = ctypes.c_int.from_address(msg_info - 8).value
        ipaddress.ip_address(source_host)  # ValueError if the layout is not what it should be
        if not 0 < source_port < 65536:
            raise ValueError("rx data layout check failed (port)")
        call_id = ""
        if method == "INVITE":
            length = ctypes.c_int.from_address(msg_info + 8).value
            if 0 < length <= MAX_PACKET_BYTES:
                call_id = call_id_of(ctypes.string_at(packet, length))
        return RxRequest(method, source_host, source_port, call_id)

    @staticmethod
    def _find_pointer(rdata: int, value: int) -> int:
        words = (ctypes.c_uint64 * (SCAN_LIMIT_BYTES // 8)).from_address(rdata)
        for index, word in enumerate(words):
            if word == value:
                return index * 8
        raise ValueError("rdata->msg_info.info not found")


# What a module decides for a request: None = pass it on; SWALLOW = drop silently; a status = refuse statelessly.
RequestFilter = Callable[[RxRequest], int | None]


class RequestGuard:
    """The two pjsip modules (see the module docstring). Filters run on the SIP thread inside libHandleEvents;
    they must be quick and must not call pjsua2. A filter error passes the request (the edge is the real
    guard) and is logged once."""

    def __init__(self, library: PjsuaLibrary, *, every_request: RequestFilter, initial_invite: RequestFilter) -> None:
        self._library = library
        self._layout = RxDataLayout(library)
        self._filters = {PRIORITY_BEFORE_DIALOGS: every_request, PRIORITY_AFTER_DIALOGS: initial_invite}
        self._names: list[ctypes.Array] = []
        self._callbacks: list[object] = []  # the C function pointers must outlive the registration
        self._modules: list[PjsipModule] = []
        self._failed = False
        self.active = False

    def register(self) -> None:
        c = self._library.c
        endpoint = c.pjsua_get_pjsip_endpt()
        for priority, name in ((PRIORITY_BEFORE_DIALOGS, b"mod-callbot-sources"),
                               (PRIORITY_AFTER_DIALOGS, b"mod-callbot-new-calls")):
            buffer = ctypes.create_string_buffer(name)
            callback = RxCallback(self._handler(priority))
            module = PjsipModule()
            module.name = PjStr(ctypes.addressof(buffer), len(name))
            module.id = -1
            module.priority = priority
            module.on_rx_request = callback
            status = c.pjsip_endpt_register_module(endpoint, ctypes.byref(module))
            if status != 0:
                raise RuntimeError(f"pjsip_endpt_register_module failed ({status})")
            self._names.append(buffer)
            self._callbacks.append(callback)
            self._modules.append(module)
        self.active = True

    def unregister(self) -> None:
        """Before libDestroy; the ctypes objects stay referenced by this guard until it is dropped."""
        c = self._library.c
        endpoint = c.pjsua_get_pjsip_endpt()
        for module in self._modules:
            c.pjsip_endpt_unregister_module(endpoint, ctypes.byref(module))
        self.active = False

    def _handler(self, priority: int) -> Callable[[int], int]:
        decide = self._filters[priority]
        c = self._library.c

        def on_rx_request(rdata: int) -> int:
            try:
                request = self._layout.read(rdata)
                verdict = decide(request)
                if verdict is None:
                    return 0
                if verdict != SWALLOW and request.method != "ACK":
                    c.pjsip_endpt_respond_stateless(c.pjsua_get_pjsip_endpt(), rdata, verdict, None, None, None)
                return 1
            except Exception:  # noqa: BLE001 (a C callback must not raise)
                if not self._failed:
                    self._failed = True
                    log.exception("SIP request guard failed; requests pass to pjsua unfiltered from now on")
                return 0

        return on_rx_request
