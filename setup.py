"""Build step only (the project is declared in pyproject.toml): a wheel carries the repository's prompts/ and
models/manifest.toml inside the package, as ``callbot/_shipped/``, so an installed callbot finds them without a
checkout (``callbot.paths``). An editable install reads them from the checkout instead."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"prompts": ("*.yaml", "*.wav"), "models": ("manifest.toml",)}


class BuildWithShippedFiles(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # the checkout's own files are used in place
            return
        target = Path(self.build_lib) / "callbot" / "_shipped"
        for folder, patterns in SHIPPED.items():
            for pattern in patterns:
                for source in sorted((ROOT / folder).rglob(pattern)):
                    destination = target / source.relative_to(ROOT)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    self.copy_file(str(source), str(destination))


setup(cmdclass={"build_py": BuildWithShippedFiles})
