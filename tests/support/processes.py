"""Helpers for tests that run the product as a subprocess."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

import httpx

from tests.support.waiting import wait_until


def wait_for_http(url: str, server: subprocess.Popen, *, timeout: float, output: Callable[[], str]) -> httpx.Response:
    """GET ``url`` until the server answers; fail with the server's output if it dies or ``timeout`` passes."""

    def answer() -> httpx.Response | None:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            return None

    def died() -> str | None:
        return None if server.poll() is None else f"the server exited ({server.returncode}):\n{output()[-3000:]}"

    try:
        return wait_until(answer, timeout, f"an answer from {url}", interval=0.2, failed=died)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n{output()[-3000:]}") from None


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
