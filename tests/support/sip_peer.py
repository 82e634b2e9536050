"""A pjsua2 test peer, run as its own process (pjsua2 allows one Endpoint per process):
``python -m tests.support.sip_peer`` (``tests.support.sip.run_peer`` starts it).

Caller mode: dials ``--target``, runs ``--step`` actions in order, records what it hears, writes a JSON report.
Steps: ``hold:SECONDS`` (stay on the line, silent, that long or until the bot hangs up: the caller's
own pause, never a guess at how long the bot takes), ``play:WAV`` (sent as the caller's voice), ``dtmf:DIGITS`` (RFC 2833),
``info:DIGITS`` (SIP INFO), ``until_speech:TIMEOUT`` (wait for the bot's voice), ``until_quiet:SECONDS``
(wait until the bot has been quiet that long), ``hangup``.
Operator mode (``--answer``): waits for INVITEs on ``--port``, answers (or rejects with ``--reject CODE``),
reports the headers it saw.

Report (JSON): connected, final status, redirect target, transfer target (REFER), DTMF sent, for each
``play`` the gap from the end of our speech to the bot's first audible frame, the recorded WAV path.
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pjsua2 as pj

from callbot.audio import read_wav, samples_per_frame, write_wav
from callbot.telephony.frame_buffer import read_bytes, write_bytes
from tests.support import PEER_READY_LINE

AUDIBLE_DBFS = -45.0


def frame_dbfs(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    rms = math.sqrt(float(np.mean(samples * samples))) if samples.size else 0.0
    return 20 * math.log10(rms) if rms > 0 else -120.0


@dataclass
class Report:
    role: str
    call_id: str | None = None  # the SIP Call-ID of our (first) call: the bot's call id
    connected: bool = False
    final_status: int | None = None
    redirect_to: str | None = None
    refer_to: str | None = None
    invite_headers: dict[str, str] = field(default_factory=dict)
    dtmf_sent: str = ""
    heard_audio_s: float = 0.0
    codec: str | None = None  # what the call negotiated
    turn_latencies_ms: list[float] = field(default_factory=list)
    barge_in_ms: list[float] = field(default_factory=list)  # our speech onset -> the bot's voice stops
    recording: str | None = None
    steps_done: int = 0
    error: str | None = None


class PeerPort(pj.AudioMediaPort):
    """Plays queued frames as our voice; records every frame heard with its arrival time."""

    def __init__(self, rate: int) -> None:
        super().__init__()
        self.frame_bytes = 2 * samples_per_frame(rate)
        self.outbound: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.heard: list[tuple[float, bytes]] = []
        self.last_play_end: float | None = None

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO:
            self.heard.append((time.monotonic(), read_bytes(frame.buf)))

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:
        try:
            pcm = self.outbound.get_nowait()
            if self.outbound.empty():
                self.last_play_end = time.monotonic()
        except queue.Empty:
            pcm = bytes(self.frame_bytes)
        write_bytes(frame.buf, pcm)
        frame.size = len(pcm)
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO

    def playing(self) -> bool:
        return not self.outbound.empty()

    def last_audible(self) -> float | None:
        for at, pcm in reversed(self.heard):
            if frame_dbfs(pcm) > AUDIBLE_DBFS:
                return at
        return None

    def first_audible_after(self, moment: float) -> float | None:
        return next((at for at, pcm in self.heard if at >= moment and frame_dbfs(pcm) > AUDIBLE_DBFS), None)

    def stopped_after(self, moment: float, quiet_s: float = 0.3) -> float | None:
        """When the bot's voice stopped after ``moment``: its last audible frame before ``quiet_s`` of quiet."""
        last = None
        for at, pcm in self.heard:
            if at < moment:
                continue
            if frame_dbfs(pcm) > AUDIBLE_DBFS:
                last = at
            elif last is not None and at - last >= quiet_s:
                return last
            elif last is None and at - moment >= quiet_s:
                return moment  # it was already quiet
        return None


class PeerCall(pj.Call):
    def __init__(self, peer: Peer, account: pj.Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.peer = peer
        self.account = account
        self.port: PeerPort | None = None
        self.disconnected = False

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.peer.report.connected = True
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected = True
            if self.peer.report.final_status is None or not self.peer.report.connected:
                self.peer.report.final_status = info.lastStatusCode

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        info = self.getInfo()
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE and self.port is None:
                audio = self.getAudioMedia(media.index)
                self.peer.report.codec = self.getStreamInfo(media.index).codecName
                fmt = pj.MediaFormatAudio()
                fmt.init(pj.PJMEDIA_FORMAT_PCM, self.peer.rate, 1, 20000, 16)
                self.port = PeerPort(self.peer.rate)
                self.port.createPort("peer", fmt)
                audio.startTransmit(self.port)
                self.port.startTransmit(audio)

    def onCallRedirected(self, prm: pj.OnCallRedirectedParam) -> int:
        self.peer.report.redirect_to = prm.targetUri
        return pj.PJSIP_REDIRECT_ACCEPT if self.peer.follow_redirect else pj.PJSIP_REDIRECT_REJECT

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        self.peer.report.refer_to = prm.dstUri
        prm.statusCode = 202 if self.peer.accept_transfer else 603
        if self.peer.accept_transfer:
            # the transferred call gets its own Call: without one pjsua2 shares this instance between both calls
            # (switching its id back and forth, pjproject #2158), which crashed this process now and then
            transferred = PeerCall(self.peer, self.account)
            self.peer.calls.append(transferred)
            prm.newCall = transferred

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        prm.cont = True


class PeerAccount(pj.Account):
    def __init__(self, peer: Peer) -> None:
        super().__init__()
        self.peer = peer

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        call = PeerCall(self.peer, self, prm.callId)
        for line in prm.rdata.wholeMsg.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip().lower().startswith("x-"):
                self.peer.report.invite_headers[name.strip()] = value.strip()
        op = pj.CallOpParam()
        op.statusCode = self.peer.reject_code or 200
        self.peer.calls.append(call)
        if self.peer.reject_code:
            call.hangup(op)
        else:
            call.answer(op)


class Peer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rate = args.rate
        self.follow_redirect = args.follow_redirect
        self.accept_transfer = not args.refuse_transfer
        self.reject_code = args.reject
        self.report = Report(role="operator" if args.answer else "caller")
        self.calls: list[PeerCall] = []
        self.endpoint = pj.Endpoint()

    def start(self) -> PeerAccount:
        ep = self.endpoint
        ep.libCreate()
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 0
        config.uaConfig.mainThreadOnly = False
        config.logConfig.level = 1
        config.logConfig.consoleLevel = 1
        config.medConfig.clockRate = self.rate
        config.medConfig.sndClockRate = self.rate
        config.medConfig.noVad = True
        config.medConfig.ecTailLen = 0
        ep.libInit(config)
        transport = pj.TransportConfig()
        transport.port = self.args.port
        transport.boundAddress = self.args.bind
        ep.transportCreate(pj.PJSIP_TRANSPORT_TCP if self.args.tcp else pj.PJSIP_TRANSPORT_UDP, transport)
        ep.libStart()
        ep.audDevManager().setNullDev()
        if self.args.codec:  # offer only this codec
            for codec in ep.codecEnum2():
                ep.codecSetPriority(codec.codecId, 255 if codec.codecId == self.args.codec else 0)
        account_config = pj.AccountConfig()
        account_config.idUri = f"sip:{self.args.user}@{self.args.bind}"
        account_config.mediaConfig.transportConfig.boundAddress = self.args.bind
        account = PeerAccount(self)
        account.create(account_config, True)
        return account

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.endpoint.libHandleEvents(10)

    def pump_until(self, done, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if done():
                return True
            self.endpoint.libHandleEvents(10)
        return done()

    def run_caller(self, account: PeerAccount) -> None:
        call = PeerCall(self, account)
        self.calls.append(call)
        op = pj.CallOpParam(True)
        call.makeCall(self.args.target, op)
        self.report.call_id = call.getInfo().callIdString
        if not self.pump_until(lambda: call.port is not None or call.disconnected, self.args.connect_timeout):
            self.report.error = "no answer"
            return
        if call.disconnected:
            # follow a redirect: pjsua re-targets the same Call object
            if self.follow_redirect and self.report.redirect_to:
                self.pump_until(lambda: call.port is not None, self.args.connect_timeout)
            if call.port is None:
                return
        for step in self.args.step:
            if call.disconnected:
                break
            self.run_step(call, step)
            self.report.steps_done += 1
        if not call.disconnected:
            call.hangup(pj.CallOpParam())
            self.pump_until(lambda: call.disconnected, 5)

    def run_step(self, call: PeerCall, step: str) -> None:
        kind, _, value = step.partition(":")
        port = call.port
        assert port is not None
        if kind == "hold":
            self.pump_until(lambda: call.disconnected, float(value))
        elif kind == "play":
            for chunk in read_wav(value, self.rate).frames():
                port.outbound.put(chunk.pcm)
            self.pump_until(lambda: not port.playing() or call.disconnected, 120)
            end = time.monotonic()
            self.pump_until(lambda: port.first_audible_after(end) is not None or call.disconnected, self.args.turn_timeout)
            heard = port.first_audible_after(end)
            if heard is not None:
                self.report.turn_latencies_ms.append(round((heard - end) * 1000, 1))
        elif kind == "barge":  # speak over the bot and measure how soon it stops
            frames = [chunk.pcm for chunk in read_wav(value, self.rate).frames()]
            onset_frames = next((i for i, pcm in enumerate(frames) if frame_dbfs(pcm) > AUDIBLE_DBFS), 0)
            started = time.monotonic()
            for pcm in frames:
                port.outbound.put(pcm)
            self.pump_until(lambda: not port.playing() or call.disconnected, 120)
            self.pump(0.5)
            onset = started + onset_frames * 0.02
            stopped = port.stopped_after(onset)
            if stopped is not None:
                self.report.barge_in_ms.append(round((stopped - onset) * 1000, 1))
        elif kind in ("dtmf", "info"):
            param = pj.CallSendDtmfParam()
            param.digits = value
            param.method = pj.PJSUA_DTMF_METHOD_RFC2833 if kind == "dtmf" else pj.PJSUA_DTMF_METHOD_SIP_INFO
            call.sendDtmf(param)
            self.report.dtmf_sent += value
            self.pump(0.3 * len(value))
        elif kind == "until_speech":
            start = time.monotonic()
            self.pump_until(lambda: port.first_audible_after(start - 60) is not None or call.disconnected, float(value))
        elif kind == "until_quiet":
            quiet = float(value)

            def quiet_long_enough() -> bool:
                last = port.last_audible()
                return last is not None and time.monotonic() - last >= quiet

            self.pump_until(lambda: quiet_long_enough() or call.disconnected, 120)
        elif kind == "hangup":
            call.hangup(pj.CallOpParam())
            self.pump_until(lambda: call.disconnected, 5)
        else:
            raise SystemExit(f"unknown step {step!r}")

    def run_operator(self) -> None:
        self.pump(self.args.duration)
        for call in self.calls:
            if not call.disconnected:
                call.hangup(pj.CallOpParam())
        self.pump(0.5)

    def finish(self) -> None:
        # Stop the conference bridge's clock first: a port freed while it runs can be called once more after
        # the Python object is gone (SIGSEGV); see BridgePortPool in callbot/telephony/pjsip/media.py.
        self.endpoint.audDevManager().setNoDev()
        ports = [call.port for call in self.calls if call.port is not None]
        heard = b"".join(pcm for port in ports for _, pcm in port.heard)
        self.report.heard_audio_s = round(
            sum(1 for port in ports for _, pcm in port.heard if frame_dbfs(pcm) > AUDIBLE_DBFS) * 0.02, 2
        )
        if self.args.record:
            write_wav(self.args.record, heard, self.rate)
            self.report.recording = str(self.args.record)
        self.calls.clear()
        del ports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", help="SIP URI to call (caller mode)")
    parser.add_argument("--answer", action="store_true", help="operator mode: answer incoming calls")
    parser.add_argument("--reject", type=int, default=0, help="operator mode: reject with this status")
    parser.add_argument("--duration", type=float, default=10.0, help="operator mode: seconds to run")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tcp", action="store_true")
    parser.add_argument("--user", default="caller")
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--codec", help="offer only this codec, e.g. G722/16000/1")
    parser.add_argument("--step", action="append", default=[])
    parser.add_argument("--record", type=Path)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--follow-redirect", action="store_true")
    parser.add_argument("--refuse-transfer", action="store_true")
    parser.add_argument("--connect-timeout", type=float, default=10.0)
    parser.add_argument("--turn-timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    peer = Peer(args)
    account = peer.start()
    print(PEER_READY_LINE, flush=True)  # its transport is up: an operator can take calls, a caller is dialling
    try:
        if args.answer:
            peer.run_operator()
        else:
            peer.run_caller(account)
    except Exception as exc:  # noqa: BLE001 (reported, so the test shows why)
        peer.report.error = repr(exc)
    finally:
        peer.finish()
        args.report.write_text(json.dumps(asdict(peer.report), indent=2))
        account.shutdown()
        del account
        peer.endpoint.libDestroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
