"""Where the product's files are, whatever the current directory: the files it ships (prompts, the model
manifest) and the default data and models directories.

Shipped files live at the repository root (``prompts/``, ``models/manifest.toml``). A wheel carries a copy inside
the package (``callbot/_shipped/``, copied by ``setup.py``'s build step); an editable install or a checkout
finds them beside the package. Defaults for the directories the product writes:

- running from a checkout (the package's parent holds this project's ``pyproject.toml``): ``<checkout>/data``
  and ``<checkout>/models``, so ``make run`` and any ``callbot`` command, from any directory, use one database;
- installed from a wheel: ``/var/lib/callbot`` for root, else ``$XDG_DATA_HOME/callbot`` (``~/.local/share``),
  with models in its ``models/``.

``CALLBOT_DATA_DIR`` and ``CALLBOT_MODELS_DIR`` override both; ``CALLBOT_PROMPTS_DIR`` the prompts.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_DIR = PACKAGE_DIR / "_shipped"  # a wheel's copy of the repository's prompts/ and models/manifest.toml
SYSTEM_DATA_DIR = Path("/var/lib/callbot")


def checkout_root(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The source checkout the package runs from (an editable install), or None for an installed wheel."""
    root = package_dir.parent
    try:
        project = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if 'name = "callbot"' in project and (root / "prompts").is_dir() else None


def shipped_path(relative: str, package_dir: Path = PACKAGE_DIR) -> Path:
    """A file or folder the product ships (``prompts``, ``models/manifest.toml``): the wheel's copy inside the
    package, else the checkout's."""
    inside = package_dir / "_shipped" / relative
    if inside.exists():
        return inside
    root = checkout_root(package_dir)
    return (root if root is not None else package_dir.parent) / relative


def installed_home(environ: os._Environ[str] | dict[str, str] = os.environ, uid: int | None = None) -> Path:
    """Where an installed (not checked out) callbot keeps its data: /var/lib/callbot for root, else the
    user's XDG data directory."""
    if (os.geteuid() if uid is None else uid) == 0:
        return SYSTEM_DATA_DIR
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "callbot"


def default_data_dir() -> Path:
    root = checkout_root()
    return root / "data" if root is not None else installed_home()


def default_models_dir() -> Path:
    root = checkout_root()
    return root / "models" if root is not None else installed_home() / "models"
