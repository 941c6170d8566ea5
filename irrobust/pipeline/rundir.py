"""The run directory: where a run's outputs go, and how completeness is marked.

While a run is in progress the directory holds ``run.json`` (``status: running``) and the
checkpoints of finished units; ``manifest.json`` is written last, atomically, only when every
output is complete — a directory without it is not a finished run. Rerunning the same config
resumes from the checkpoints; a directory holding a different config is refused unless
``force`` is given. All output paths are confined to the directory.

Example:
    >>> import tempfile, pathlib
    >>> rd = RunDir(pathlib.Path(tempfile.mkdtemp()) / "r", config_hash="abc")
    >>> rd.prepare(); rd.file("runs/x.trec").name
    'x.trec'
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
from pathlib import Path
from typing import Any

from irrobust.errors import ConfigError
from irrobust.util.io import atomic_write_json

MANIFEST = "manifest.json"
STATE = "run.json"


def slug(name: str) -> str:
    """A file-name-safe version of a system or dataset name.

    Example:
        >>> slug("beir/scifact/test"), slug("bm25%100>>ce")
        ('beir-scifact-test', 'bm25_100__ce')
    """
    return re.sub(r"[^A-Za-z0-9_.=-]", "_", name.replace("/", "-")).strip("._") or "x"


def now() -> str:
    """UTC timestamp in ISO 8601.

    Example:
        >>> now().endswith("+00:00")
        True
    """
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class RunDir:
    """A run's output directory (see module docstring).

    Example:
        >>> RunDir(Path("/tmp/x"), "h").path.name
        'x'
    """

    def __init__(self, path: Path, config_hash: str, force: bool = False) -> None:
        self.path = Path(path).resolve()
        self.config_hash = config_hash
        self.force = force

    def prepare(self) -> None:
        """Create or reopen the directory; refuse one that holds another config's run.

        Example:
            >>> import tempfile
            >>> RunDir(Path(tempfile.mkdtemp()) / "new", "h").prepare()
        """
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError("exists and is not a directory", where=str(self.path))
        if self.path.is_dir() and any(self.path.iterdir()):
            previous = self._read(STATE) or self._read(MANIFEST)
            if previous is None:
                if not self.force:
                    raise ConfigError("the output directory is not empty and holds no irrobust run; "
                                      "choose another --out or pass --force", where=str(self.path))  # fmt: skip
            elif previous.get("config_hash") != self.config_hash:
                if not self.force:
                    raise ConfigError("the output directory holds a run of a different configuration; "
                                      "choose another --out or pass --force to replace it", where=str(self.path))  # fmt: skip
                shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / MANIFEST).unlink(missing_ok=True)  # from now on the directory is not a finished run
        atomic_write_json(
            self.path / STATE, {"config_hash": self.config_hash, "status": "running", "started_at": now()}
        )

    def _read(self, name: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / name).read_text())
        except (OSError, ValueError):
            return None

    def file(self, relative: str) -> Path:
        """A path inside the run directory (parents created); escaping it is an error.

        Example:
            >>> RunDir(Path("/tmp/r"), "h").file("../x")  # doctest: +IGNORE_EXCEPTION_DETAIL
            Traceback (most recent call last):
            irrobust.errors.ConfigError: ...
        """
        target = (self.path / relative).resolve()
        if self.path != target and self.path not in target.parents:
            raise ConfigError(f"output path {relative!r} escapes the run directory", where=str(self.path))
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def fail(self, error: str) -> None:
        """Record that the run stopped with an error (the directory stays incomplete).

        Example:
            >>> import tempfile
            >>> rd = RunDir(Path(tempfile.mkdtemp()), "h"); rd.prepare(); rd.fail("boom")
        """
        atomic_write_json(self.path / STATE, {"config_hash": self.config_hash, "status": "failed", "error": error,
                                              "stopped_at": now()})  # fmt: skip

    def finish(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` (last) and mark the run complete.

        Example:
            >>> import tempfile
            >>> rd = RunDir(Path(tempfile.mkdtemp()), "h"); rd.prepare(); rd.finish({"a": 1})
            >>> (rd.path / "manifest.json").exists()
            True
        """
        atomic_write_json(
            self.path / STATE, {"config_hash": self.config_hash, "status": "complete", "finished_at": now()}
        )
        atomic_write_json(self.path / MANIFEST, manifest)
