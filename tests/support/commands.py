"""The installed ``callbot`` command in a fresh process, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import REPO


def callbot(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callbot", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=600,
    )


def report_of(run: subprocess.CompletedProcess[str]) -> dict:
    assert run.stdout.strip().startswith("{"), run.stderr[-3000:]
    return json.loads(run.stdout)
