"""Real SIP callees for campaign tests and the benchmark: sipp UAS processes (the scenarios in sip/uas_*.xml),
an RTP capture of a spoken greeting for the answering machine, and a test PBX (a real Kamailio proxy) that
routes each dialled number to its callee, record-routes, and logs every new INVITE it relays (one line per
Call-ID: how often each number was called)."""

from __future__ import annotations

import os
import re
import socket
import struct
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.support import REPO
from tests.support.ports import free_sip_port, udp_port_taken
from tests.support.waiting import wait_until

SIP_DIR = REPO / "sip"
KAMAILIO = "/usr/sbin/kamailio"


# --- an RTP capture of speech, for sipp's play_pcap_audio ----------------------------------------------------
def ulaw(pcm: bytes) -> bytes:
    """G.711 mu-law of PCM16 samples (the standard segment encoding)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.int32)
    sign = np.where(samples < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(samples), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def write_rtp_pcap(path: Path, pcm8k: bytes, *, payload_type: int = 0) -> Path:
    """``pcm8k`` (PCM16 at 8 kHz) as RTP/PCMU packets of 20 ms in a pcap (Ethernet/IPv4/UDP), as sipp plays it."""
    payload = ulaw(pcm8k)
    packets = [(payload_type, index == 0, index * 160, payload[offset:offset + 160])
               for index, offset in enumerate(range(0, len(payload) - 159, 160))]
    return _write_pcap(path, packets)


# pjsua2 offers telephone-event with this payload type (pjmedia's PJMEDIA_RTP_PT_TELEPHONE_EVENTS); the callee
# scenarios answer with the offered one, and the key they press must use it too.
PJSUA_TELEPHONE_EVENT_PT = 120


def write_dtmf_pcap(path: Path, digit: str, *, payload_type: int = PJSUA_TELEPHONE_EVENT_PT) -> Path:
    """One key as RFC 2833 telephone-events (120 ms of updates, then the end packet three times) in a pcap."""
    event = "0123456789*#".index(digit)
    packets = [(payload_type, step == 0, 0, struct.pack(">BBH", event, 10, (step + 1) * 160)) for step in range(6)]
    packets += [(payload_type, False, 0, struct.pack(">BBH", event, 0x80 | 10, 960))] * 3
    return _write_pcap(path, packets)


def _write_pcap(path: Path, packets: list[tuple[int, bool, int, bytes]]) -> Path:
    """RTP packets (payload type, marker, timestamp, payload), one each 20 ms, as a pcap of Ethernet/IPv4/UDP."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index, (payload_type, marker, timestamp, payload) in enumerate(packets):
        rtp = struct.pack(">BBHII", 0x80, payload_type | (0x80 if marker else 0), index & 0xFFFF, timestamp,
                          0x1234ABCD) + payload
        udp = struct.pack(">HHHH", 40000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index & 0xFFFF, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
        frame = bytes(6) + bytes(6) + b"\x08\x00" + ip
        seconds, micros = divmod(index * 20000, 1_000_000)
        out.append(struct.pack("<IIII", 1_700_000_000 + seconds, micros, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


# --- sipp callees --------------------------------------------------------------------------------------------
@dataclass
class SippCallee:
    scenario: str
    port: int
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_callee(scenario: str, workdir: Path, *extra: str) -> SippCallee:
    """``sip/<scenario>`` as a UAS on a free loopback port, run in ``workdir`` (where greeting.pcap and dtmf1.pcap are)."""
    port = free_sip_port()
    media_port = free_sip_port()
    log = workdir / f"{Path(scenario).stem}-{port}.log"
    command = ["sipp", "-sf", str(SIP_DIR / scenario), "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", str(port),
               "-mp", str(media_port), "-nostdin", "-aa",
               "-trace_msg", "-message_file", str(log.with_suffix(".messages")), *extra]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=workdir, stdout=output, stderr=subprocess.STDOUT)
    wait_until(lambda: udp_port_taken("127.0.0.1", port), 10, f"sipp {scenario} to listen",
               failed=lambda: None if process.poll() is None else f"sipp exited:\n{log.read_text()[-2000:]}")
    return SippCallee(scenario, port, process, log)


# --- the test PBX ------------------------------------------------------------------------------------------
PBX_CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
listen=udp:127.0.0.1:{port}

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"

modparam("tm", "fr_inv_timer", 120000)
modparam("rr", "append_fromtag", 1)

request_route {{
    if (has_totag()) {{
        if (loose_route()) {{
            t_relay();
            exit;
        }}
        if (is_method("ACK") && t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (is_method("ACK")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    t_check_trans();
    if (is_method("OPTIONS")) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (!is_method("INVITE")) {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
{routes}
    xlog("L_NOTICE", "PBX-INVITE $rU $ci\\n");
    record_route();
    t_relay();
}}
"""


@dataclass
class TestPbx:
    port: int
    process: subprocess.Popen
    log: Path
    directory: Path
    routes: dict[str, int] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.port}"

    def invites(self) -> Counter[str]:
        """How many distinct calls (Call-IDs) reached each number."""
        seen = set(re.findall(r"PBX-INVITE (\S+) (\S+)", self.log.read_text(errors="replace")))
        return Counter(number for number, _ in seen)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


def start_pbx(directory: Path, routes: dict[str, int]) -> TestPbx:
    """A Kamailio proxy on a free port routing each national number (the request user) to ``routes[number]``
    (a callee's port on 127.0.0.1); any other number gets 404."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_sip_port()
    lines = [f'    if ($rU == "{number}") {{\n        $du = "sip:127.0.0.1:{target}";\n    }} else'
             for number, target in routes.items()]
    routing = "\n".join(lines) + ' {\n        sl_send_reply("404", "Not Found");\n        exit;\n    }' if lines else ""
    (directory / "pbx.cfg").write_text(PBX_CONFIG.format(port=port, routes=routing))
    log = directory / "pbx.log"
    with log.open("w") as output:
        process = subprocess.Popen([KAMAILIO, "-f", "pbx.cfg", "-DD", "-E", "-w", ".", "-Y", ".", "-P", "pbx.pid"],
                                   cwd=directory, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    pbx = TestPbx(port, process, log, directory, dict(routes))
    try:
        wait_until(lambda: _answers_options(port), 15, "the test PBX to answer OPTIONS", interval=0.1,
                   failed=lambda: None if process.poll() is None else "the test PBX exited")
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{log.read_text()[-3000:]}") from None
    return pbx


def _answers_options(port: int) -> bool:
    probe_port = free_sip_port()
    request = (f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{probe_port};branch=z9hG4bK"
               f"{time.monotonic_ns()}\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1:{port}>\r\n"
               f"Call-ID: probe-{time.monotonic_ns()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
               "Content-Length: 0\r\n\r\n")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", probe_port))
        sock.settimeout(0.3)
        sock.sendto(request.encode(), ("127.0.0.1", port))
        try:
            return sock.recv(4096).startswith(b"SIP/2.0 200")
        except OSError:
            return False


def write_greeting_pcap(workdir: Path, seconds: float = 20.0) -> Path:
    """``workdir/greeting.pcap``: an answering machine's greeting, ``seconds`` of espeak-ng speech without a pause
    (no punctuation, so no sentence breaks), as RTP/PCMU for sip/uas_machine.xml."""
    from callbot.audio import read_wav
    from tests.support.speech import espeak_wav

    words = "you have reached the voice mailbox of the district office please leave your name and number after the tone"
    speech = read_wav(espeak_wav(workdir / "greeting.wav", words, "en", rate=8000, speed=170)).pcm
    repeats = int(seconds * 16000 // len(speech)) + 1
    return write_rtp_pcap(workdir / "greeting.pcap", (speech * repeats)[: int(seconds * 16000)])


@dataclass
class Callees:
    """One sipp process per behaviour, the test PBX routing a number to each."""

    by_kind: dict[str, SippCallee]
    pbx: TestPbx

    def stop(self) -> None:
        self.pbx.stop()
        for callee in self.by_kind.values():
            callee.stop()


CALLEE_SCENARIOS = {"confirm": "uas_confirm.xml", "silent": "uas_silent.xml", "machine": "uas_machine.xml",
                    "busy": "uas_busy.xml", "no_answer": "uas_no_answer.xml"}


def start_callees(workdir: Path, numbers: dict[str, str]) -> Callees:
    """A sipp callee per kind (``numbers``: national number -> kind) behind a test PBX."""
    workdir.mkdir(parents=True, exist_ok=True)
    write_greeting_pcap(workdir)
    write_dtmf_pcap(workdir / "dtmf1.pcap", "1")
    by_kind: dict[str, SippCallee] = {}
    try:
        for kind in sorted(set(numbers.values())):
            by_kind[kind] = start_callee(CALLEE_SCENARIOS[kind], workdir)
        pbx = start_pbx(workdir / "pbx", {number: by_kind[kind].port for number, kind in numbers.items()})
    except BaseException:
        for callee in by_kind.values():
            callee.stop()
        raise
    return Callees(by_kind, pbx)
