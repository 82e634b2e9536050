"""Test infrastructure shared by the tests and the benchmarks in ``scripts/`` (imported as ``tests.support``;
the benchmarks run from the repository root with ``python -m scripts.bench_...``). Fakes that other code may
use too live in the package, ``callbot.testing``; what is here only tests need: the pjsua2 SIP peer process,
the service and the node as subprocesses, the throwaway PostgreSQL cluster, stores and API worlds, espeak-ng
speech."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
PEER_READY_LINE = "sip peer ready"  # printed by tests/support/sip_peer.py once its SIP transport is up
