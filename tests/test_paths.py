"""Paths never depend on the current directory (issue 16): the prompts and the model manifest come from the
package (a checkout's, or a wheel's own copy), the data directory from one documented place, and every command
that opens the database says which. The CLI runs from a directory outside the checkout, as a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from callbot.config import Settings
from callbot.paths import SYSTEM_DATA_DIR, checkout_root, installed_home, shipped_path
from callbot.store import open_store

from tests.support import REPO


def run_cli(*args: str, cwd: Path, env: dict[str, str], stdin: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "callbot", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A working directory outside the checkout, with no prompts/ or data/ of its own."""
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    return directory


@pytest.fixture
def outside_env() -> dict[str, str]:
    """The test's environment without CALLBOT_PROMPTS_DIR: the prompts must be found from the package."""
    env = dict(os.environ)
    env.pop("CALLBOT_PROMPTS_DIR", None)
    return env


# --- where things are ---------------------------------------------------------------------------------------
def test_a_checkout_keeps_its_data_models_and_prompts_beside_the_package(monkeypatch: pytest.MonkeyPatch,
                                                                          elsewhere: Path) -> None:
    for name in ("CALLBOT_DATA_DIR", "CALLBOT_PROMPTS_DIR", "CALLBOT_MODELS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(elsewhere)
    settings = Settings()
    assert checkout_root() == REPO
    assert (settings.data_dir, settings.models_dir, settings.prompts_dir) == (REPO / "data", REPO / "models",
                                                                              REPO / "prompts")
    assert shipped_path("models/manifest.toml") == REPO / "models" / "manifest.toml"
    assert not (elsewhere / "data").exists()  # reading the settings creates nothing


def test_an_installed_package_keeps_its_data_in_one_documented_place(tmp_path: Path) -> None:
    assert installed_home({"HOME": "/home/lan"}, uid=1000) == Path("/home/lan/.local/share/callbot")
    assert installed_home({"HOME": "/home/lan", "XDG_DATA_HOME": "/srv/xdg"}, uid=1000) == Path("/srv/xdg/callbot")
    assert installed_home({"HOME": "/root"}, uid=0) == SYSTEM_DATA_DIR == Path("/var/lib/callbot")
    package = tmp_path / "site-packages" / "callbot"  # a wheel install: no pyproject.toml beside the package
    (package / "_shipped" / "prompts").mkdir(parents=True)
    assert checkout_root(package) is None
    assert shipped_path("prompts", package) == package / "_shipped" / "prompts"


def test_a_relative_directory_setting_is_taken_where_it_was_given(monkeypatch: pytest.MonkeyPatch,
                                                                  elsewhere: Path) -> None:
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("CALLBOT_DATA_DIR", "mydata")
    assert Settings().data_dir == elsewhere / "mydata"


# --- the CLI outside the checkout ------------------------------------------------------------------------------
def test_users_add_outside_the_checkout_says_the_database_and_the_user_can_log_in(
        elsewhere: Path, outside_env: dict[str, str]) -> None:
    data_dir = Path(outside_env["CALLBOT_DATA_DIR"])
    done = run_cli("users", "add", "admin", "--role", "admin", "--password-stdin", cwd=elsewhere, env=outside_env,
                   stdin="s3cret-pass\n")
    assert done.returncode == 0, done.stderr
    assert f"callbot: database sqlite:///{data_dir / 'callbot.db'}" in done.stderr
    assert not (elsewhere / "data").exists()  # no second database where the command happened to run
    store = open_store(Settings())  # what `callbot serve` opens
    try:
        assert store.accounts.authenticate(username="admin", password="s3cret-pass") is not None
    finally:
        store.close()
    listed = run_cli("users", "list", cwd=elsewhere, env=outside_env)
    assert listed.stdout == "admin\tadmin\tactive\n" and "callbot: database" in listed.stderr


def test_eval_and_chat_run_outside_the_checkout(elsewhere: Path, outside_env: dict[str, str]) -> None:
    evaluated = run_cli("eval", str(REPO / "tests" / "conversations" / "vi_hanoi.yaml"), cwd=elsewhere,
                        env=outside_env)
    assert evaluated.returncode == 0, evaluated.stderr + evaluated.stdout
    assert "Traceback" not in evaluated.stderr
    chatted = run_cli("chat", "--locale", "vi", cwd=elsewhere, env=outside_env,
                      stdin="tôi là nguyễn văn an\n/hangup\n")
    assert chatted.returncode == 0, chatted.stderr
    assert "Nguyễn Văn An" in chatted.stdout and "Traceback" not in chatted.stderr


def test_db_upgrade_says_which_database(elsewhere: Path, outside_env: dict[str, str]) -> None:
    done = run_cli("db", "upgrade", cwd=elsewhere, env=outside_env)
    assert done.returncode == 0 and "callbot: database sqlite:///" in done.stderr
    assert done.stdout.startswith("database schema at revision")


# --- a wheel install: no checkout at all -------------------------------------------------------------------------
@pytest.mark.slow
def test_a_wheel_install_finds_its_prompts_and_manifest_and_keeps_data_in_its_home(tmp_path: Path,
                                                                                   elsewhere: Path) -> None:
    source = tmp_path / "source"  # pip builds in the tree it is given: a copy keeps build/ out of the checkout
    for name in ("pyproject.toml", "setup.py", "README.md", "callbot", "prompts", "models/manifest.toml"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(wheels), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    # setuptools' own output (-v shows it): no deprecation, e.g. the old `project.license` table (issue 16)
    build_output = built.stdout + built.stderr
    assert "is deprecated" not in build_output and "DeprecationWarning" not in build_output, build_output[-3000:]
    (wheel,) = wheels.glob("callbot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "callbot/_shipped/prompts/vi/prompts.yaml" in names and "callbot/_shipped/models/manifest.toml" in names
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    home = tmp_path / "home"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLBOT_")}
    env.update(PYTHONPATH=str(target), HOME=str(home), XDG_DATA_HOME=str(home / "xdg"))
    where = subprocess.run([sys.executable, "-c", "import callbot, json; from callbot.config import Settings; "
                            "s = Settings(); print(json.dumps([callbot.__file__, str(s.data_dir), str(s.models_dir), "
                            "str(s.prompts_dir)]))"], cwd=elsewhere, env=env, capture_output=True, text=True,
                           timeout=60)
    assert where.returncode == 0, where.stderr
    package_file, data_dir, models_dir, prompts_dir = json.loads(where.stdout)
    assert package_file == str(target / "callbot" / "__init__.py")  # the wheel's copy, not the checkout
    expected_home = SYSTEM_DATA_DIR if os.geteuid() == 0 else home / "xdg" / "callbot"
    assert (data_dir, models_dir) == (str(expected_home), str(expected_home / "models"))
    assert prompts_dir == str(target / "callbot" / "_shipped" / "prompts")
    env["CALLBOT_DATA_DIR"] = str(tmp_path / "data")  # never write into the machine's real data home
    chatted = run_cli("chat", "--locale", "vi", cwd=elsewhere, env=env, stdin="tôi là nguyễn văn an\n/hangup\n")
    assert chatted.returncode == 0 and "Nguyễn Văn An" in chatted.stdout, chatted.stderr
    models = run_cli("models", "list", cwd=elsewhere, env=env)
    assert models.returncode == 0 and "vosk-model-small-vn-0.4" in models.stdout, models.stderr
