"""Private files: everything under the data directory holds citizen data (recordings, clips, tickets, the
journal, secrets), so it is created readable by the service's own user only (files 0600, directories 0700).

Two layers: every entry point sets the process umask (``restrict_umask``), and the code that creates those
files asks for the private mode itself, so a library or an embedding process with a lax umask changes nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def restrict_umask() -> int:
    """Make every file this process creates private from now on; returns the previous umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path | str) -> Path:
    """``mkdir -p`` where each directory it creates is 0700 (directories that exist are left as they are)."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another thread or process
        os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode is masked by the umask; chmod's is not
    return path


def private_opener(path: str, flags: int) -> int:
    """An ``opener`` for ``open()``: a file it creates gets mode 0600 whatever the umask."""
    return os.open(path, flags, PRIVATE_FILE_MODE)


def create_private_file(path: Path | str) -> Path:
    """Create ``path`` empty with mode 0600 if it does not exist (missing directories 0700), so a library that
    opens it afterwards (libsndfile, SQLite) writes into a private file. An existing file keeps its mode."""
    path = Path(path)
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    return path


def tighten(path: Path | str, mode: int = PRIVATE_FILE_MODE) -> None:
    """Take group/other permissions away from an existing file or directory we own (data from older versions)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, mode)
