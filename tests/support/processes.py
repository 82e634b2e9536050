"""Helpers for tests that run the product as a subprocess."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import httpx


def wait_for_http(url: str, server: subprocess.Popen, *, timeout: float, output: Callable[[], str]) -> httpx.Response:
    """GET ``url`` until the server answers; fail with the server's output if it dies or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            assert server.poll() is None, f"the server exited ({server.returncode}):\n{output()[-3000:]}"
            assert time.monotonic() < deadline, f"no answer from {url} in {timeout} s:\n{output()[-3000:]}"
            time.sleep(0.2)


def stop_gracefully(process: subprocess.Popen, timeout: float) -> int:
    """SIGTERM (the product's graceful shutdown), SIGKILL after ``timeout``; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
