"""The model manifest (models/manifest.toml) and the checks every model file passes: the entries' schema, size
and sha256 of a download or a local file, required parts of a model folder, and safe unpacking of an archive
with one top folder. ``callbot.model_manager`` finds, fetches and installs models with these."""

from __future__ import annotations

import hashlib
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import unquote, urlparse

from pydantic import BaseModel, Field, ValidationError

ModelKind = Literal["vosk", "piper", "coqui", "turn"]


class ModelError(RuntimeError):
    """A model could not be fetched or failed a check; the message says which and why."""


class ModelNotFound(ModelError, LookupError):
    """No model where one was needed; the message names the command that fetches it."""


class ModelFile(BaseModel):
    url: str
    size: int = 0
    sha256: str = ""

    @property
    def filename(self) -> str:
        return PurePosixPath(urlparse(self.url).path).name


class ArchiveMember(BaseModel):
    """One file taken out of an entry's archive (``extract``), stored flat in the model folder."""

    member: str  # the path inside the archive
    size: int = 0
    sha256: str = ""

    @property
    def filename(self) -> str:
        return PurePosixPath(self.member).name


class ModelEntry(BaseModel):
    """One manifest entry (see models/manifest.toml for the meaning of each field)."""

    name: str
    kind: ModelKind
    locale: str
    description: str = ""
    url: str | None = None
    files: list[ModelFile] = Field(default_factory=list)
    extract: list[ArchiveMember] = Field(default_factory=list)  # only these files of the archive at ``url``
    size: int = 0
    approx_size: str = ""
    sha256: str = ""
    licence: str = ""
    noncommercial: bool = False
    required: list[str] = Field(default_factory=list)
    package: str | None = None
    package_path: str = ""

    @property
    def folder_name(self) -> str:
        return self.name.replace("/", "--")  # Coqui names hold slashes; Coqui's own cache uses "--"


@dataclass(frozen=True, slots=True)
class ModelStatus:
    entry: ModelEntry
    path: Path | None
    source: str  # "installed" | "package" | "missing"


def load_manifest(path: Path) -> dict[str, ModelEntry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ModelError(f"cannot read the model manifest {path}: {exc}") from None
    try:
        return {name: ModelEntry(name=name, **fields) for name, fields in data.get("models", {}).items()}
    except ValidationError as exc:
        raise ModelError(f"bad entry in the model manifest {path}: {exc}") from None


def missing_parts(folder: Path, required: list[str]) -> list[str]:
    """Required files (and folders, written with a trailing /) that ``folder`` lacks."""
    return [
        item
        for item in required
        if not ((folder / item).is_dir() if item.endswith("/") else (folder / item).is_file())
    ]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_download(path: Path, size: int, sha256: str, label: str, *, remove: bool = True) -> None:
    """Size and hash against the manifest; a download that fails is deleted (never resumed, never used), a
    local file given to ``install`` (``remove=False``) is left as it is."""
    fate = "download removed" if remove else f"{path} left as it is"
    actual_size = path.stat().st_size
    if size and actual_size != size:
        if remove:
            path.unlink()
        raise ModelError(f"{label}: size mismatch (expected {size} bytes, got {actual_size}); {fate}")
    if sha256:
        actual = sha256_of(path)
        if actual != sha256.lower():
            if remove:
                path.unlink()
            raise ModelError(f"{label}: sha256 mismatch (expected {sha256}, got {actual}); {fate}")


def local_source(source: str | Path) -> Path | None:
    """The local path a ``file://`` URL or a plain path names; None for a network URL."""
    text = str(source)
    parsed = urlparse(text)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ModelError(f"{text}: a file:// URL must name a file on this machine (file:///path)")
        return Path(unquote(parsed.path))
    if parsed.scheme in ("http", "https"):
        return None
    return Path(text).expanduser()


def archive_suffix(url: str) -> str:
    path = urlparse(url).path.lower()
    for suffix in (".tar.gz", ".tgz", ".zip", ".whl"):
        if path.endswith(suffix):
            return suffix
    raise ModelError(f"cannot tell the archive type of {url} (expected .zip, .whl, .tar.gz or .tgz)")


def _members(archive: Path) -> Iterator[str]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            yield from bundle.namelist()
    else:
        with tarfile.open(archive, "r:*") as bundle:
            yield from bundle.getnames()


def unpack(archive: Path, into: Path) -> Path:
    """Extract a zip or tar.gz holding exactly one top folder; returns that folder. Unsafe paths are refused."""
    names = [name for name in _members(archive) if PurePosixPath(name).parts]
    tops = set()
    for name in names:
        parts = PurePosixPath(name).parts  # "./a/b" -> ("a", "b")
        if PurePosixPath(name).is_absolute() or ".." in parts:
            raise ModelError(f"archive layout refused: unsafe path {name!r} in {archive.name}")
        tops.add(parts[0])
    if len(tops) != 1 or all(len(PurePosixPath(name).parts) == 1 for name in names):
        shown = ", ".join(sorted(tops)[:5]) or "nothing"
        raise ModelError(
            f"archive layout refused: {archive.name} must hold exactly one top folder with the model inside, "
            f"found {len(tops)} top-level entries ({shown})"
        )
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            bundle.extractall(into)
    else:
        with tarfile.open(archive, "r:*") as bundle:
            bundle.extractall(into, filter="data")  # refuses links and devices pointing outside
    top = into / next(iter(tops))
    if not top.is_dir():
        raise ModelError(f"archive layout refused: {archive.name}'s top entry {top.name} is not a folder")
    return top
