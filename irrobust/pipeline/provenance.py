"""Provenance of a run: config hash, package versions, seeds, dataset checksums, timings.

Example:
    >>> info = environment_info()
    >>> "python" in info and "packages" in info
    True
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

PACKAGES = ("irrobust", "pyserini", "ir_datasets", "ranx", "numpy", "pandas", "scipy", "torch", "transformers",
            "sentence-transformers", "faiss-cpu", "lightgbm", "recbole", "pydantic", "PyYAML")  # fmt: skip


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed versions of the packages a run depends on.

    Example:
        >>> "numpy" in package_versions()
        True
    """
    out = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str | None:
    """The irrobust source checkout's commit (with ``-dirty`` if modified), when it is a git checkout.

    Example:
        >>> git_commit() is None or len(git_commit()) >= 40
        True
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()  # fmt: skip
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def environment_info() -> dict[str, Any]:
    """Interpreter, platform, Java, package versions and source commit.

    Example:
        >>> environment_info()["python"].startswith("3.")
        True
    """
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20).stderr.splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        java = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "java": java,
        "packages": package_versions(),
        "irrobust_commit": git_commit(),
        "argv": sys.argv,
    }
