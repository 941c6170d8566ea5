"""The run directory: where a run's outputs go, and how completeness is marked.

While a run is in progress the directory holds ``run.json`` (``status: running``) and the
checkpoints of finished units; ``manifest.json`` is written last, atomically, only when every
output is complete — a directory without it is not a finished run. The manifest lists the SHA-256 of
every output file (``outputs``). Rerunning the same config resumes from the checkpoints; a directory
holding a different config is refused unless ``force`` is given. All output paths are confined to
the directory.

Safety rules (issue 17):

* **one writer**: :meth:`RunDir.lock` takes an exclusive ``fcntl`` lock on ``<out>/.irrobust.lock``
  for the whole run; a second run into the same directory is refused at once (``ConfigError``, exit 2)
  instead of waiting. The lock dies with its process, so a killed run never leaves a stale lock.
* **force removes only irrobust's files**: the names in :data:`OWNED` (and the files a finished run's
  manifest lists), never a file it did not write, and never through a symbolic link: links are left
  in place, their targets untouched.
* **a failed rerun keeps a finished run**: a rerun moves ``manifest.json`` aside
  (``.manifest.previous.json``) before it touches anything; if it fails and every output still has
  the checksum the manifest lists, the manifest is put back (``run.json`` says the last rerun failed);
  otherwise the directory is marked failed.
* **no half files**: a run killed between writing and renaming a file leaves a ``.<name>.<random>.tmp``
  sibling; the next start removes such leftovers.

Example:
    >>> import tempfile, pathlib
    >>> rd = RunDir(pathlib.Path(tempfile.mkdtemp()) / "r", config_hash="abc")
    >>> rd.prepare(); rd.file("runs/x.trec").name
    'x.trec'
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fnmatch
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from irrobust.errors import ConfigError
from irrobust.util.io import atomic_write_json, sha256_file

MANIFEST = "manifest.json"
STATE = "run.json"
PREVIOUS = ".manifest.previous.json"
LOCK = ".irrobust.lock"

#: top-level names (globs) a run writes; ``force`` removes only these (and what a finished run's manifest lists)
OWNED = ("runs", "queries", "plots", "attacks", "certify", "checkpoints", "recbole", "results.csv", "summary.json",
         "significance.csv", "report.md", "report.html", "report.json", "attacks.csv", "attacked_documents.csv", "recsys_*.png",
         MANIFEST, STATE, PREVIOUS)  # fmt: skip
#: bookkeeping files that are not outputs (not checksummed, not compared)
_BOOKKEEPING = {MANIFEST, STATE, PREVIOUS, LOCK}
#: the temporary sibling of an atomic write (``.<name>.<8 random characters>.tmp``) or of a matplotlib plot
_TEMP = re.compile(r"^\..+\.([a-z0-9_]{8}\.tmp|tmp\.png)$")


class RunLocked(ConfigError):
    """Another process is running into the same run directory.

    Example:
        >>> str(RunLocked("busy", where="runs/x"))
        'runs/x: busy'
    """


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
        self._lock_fh: Any = None

    # -- the lock ---------------------------------------------------------------------------------------------
    def lock(self) -> None:
        """Take the run directory's exclusive lock (creating the directory); refuse if another run holds it.

        The directory is checked first (a file, or a non-empty folder that holds no irrobust run and no
        ``force``, is refused before anything is created in it). The lock is released by :meth:`unlock` or when
        the process ends, however it ends.

        Example:
            >>> import tempfile
            >>> rd = RunDir(Path(tempfile.mkdtemp()) / "r", "h"); rd.lock(); rd.unlock()
        """
        import fcntl

        self._check_target()
        self.path.mkdir(parents=True, exist_ok=True)
        lock_path = self.path / LOCK
        if lock_path.is_symlink():
            raise ConfigError(f"{LOCK} is a symbolic link; remove it", where=str(self.path))
        fh = open(lock_path, "a+")  # noqa: SIM115  (held open for the whole run)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise RunLocked(f"another irrobust run is writing into this directory ({holder}); wait for it to "
                            "finish or choose another --out", where=str(self.path)) from None  # fmt: skip
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {now()}\n")
        fh.flush()
        self._lock_fh = fh

    def unlock(self) -> None:
        """Release the lock taken by :meth:`lock` (no-op if none).

        Example:
            >>> RunDir(Path("/tmp/x"), "h").unlock()
        """
        if self._lock_fh is not None:
            import fcntl

            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None

    # -- preparing --------------------------------------------------------------------------------------------
    def _entries(self) -> list[str]:
        try:
            return sorted(p.name for p in self.path.iterdir() if p.name != LOCK)
        except FileNotFoundError:
            return []

    def _check_target(self) -> dict[str, Any] | None:
        """Refuse a directory that cannot be used; return the previous run's state (None if there is none)."""
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError("exists and is not a directory", where=str(self.path))
        if not self._entries():
            return None
        previous = self._read(STATE) or self._read(MANIFEST) or self._read(PREVIOUS)
        if previous is None and not self.force:
            raise ConfigError("the output directory is not empty and holds no irrobust run; "
                              "choose another --out or pass --force", where=str(self.path))  # fmt: skip
        if previous is not None and previous.get("config_hash") != self.config_hash and not self.force:
            raise ConfigError("the output directory holds a run of a different configuration; "
                              "choose another --out or pass --force to replace it", where=str(self.path))  # fmt: skip
        return previous

    def prepare(self) -> None:
        """Create or reopen the directory; refuse one that holds another config's run (unless ``force``).

        With ``force``, a directory holding another configuration's run (or no run) loses only what irrobust
        writes (:meth:`remove_outputs`). A finished run's manifest is moved aside, not deleted, so a failed rerun
        can restore it (:meth:`fail`).

        Example:
            >>> import tempfile
            >>> RunDir(Path(tempfile.mkdtemp()) / "new", "h").prepare()
        """
        previous = self._check_target()
        if self._entries() and (previous is None or previous.get("config_hash") != self.config_hash):
            self.remove_outputs()  # only reached with force (else _check_target raised)
        self.path.mkdir(parents=True, exist_ok=True)
        self._remove_temporaries()
        manifest = self.path / MANIFEST
        if manifest.is_file() and not manifest.is_symlink():
            os.replace(manifest, self.path / PREVIOUS)  # from now on the directory is not a finished run
        else:
            manifest.unlink(missing_ok=True)
        atomic_write_json(
            self.path / STATE, {"config_hash": self.config_hash, "status": "running", "started_at": now()}
        )

    def remove_outputs(self) -> list[str]:
        """Delete what irrobust writes into a run directory, without following symbolic links; return what went.

        Removed: the top-level names of :data:`OWNED` and every file the manifest of a finished run lists. Inside
        an owned folder, regular files and (then empty) folders are removed; a symbolic link is never followed or
        removed, and a folder still holding one stays. Anything else in the directory is kept.

        Example:
            >>> import tempfile
            >>> d = Path(tempfile.mkdtemp()); _ = (d / "results.csv").write_text("x"); _ = (d / "mine").write_text("y")
            >>> RunDir(d, "h").remove_outputs(), sorted(p.name for p in d.iterdir())
            (['results.csv'], ['mine'])
        """
        removed: list[str] = []
        listed = []
        for name in (MANIFEST, PREVIOUS):
            listed += list((self._read(name) or {}).get("outputs", {}) or {})
        for rel in listed:  # files a finished run wrote (never outside the directory, never through a link)
            target = self.path / rel
            if not _inside_without_links(self.path, target):
                continue
            if target.is_file() and not target.is_symlink():
                target.unlink()
                removed.append(rel)
        for entry in sorted(self.path.iterdir()):
            if not _owned(entry.name):
                continue
            mode = entry.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            if stat.S_ISDIR(mode):
                removed += _remove_tree(entry, self.path)
            elif stat.S_ISREG(mode):
                entry.unlink()
                removed.append(entry.name)
        return sorted(set(removed))

    def _remove_temporaries(self) -> None:
        for root, dirs, files in os.walk(self.path, followlinks=False):
            for name in files:
                if _TEMP.match(name):
                    p = Path(root) / name
                    if not p.is_symlink():
                        p.unlink(missing_ok=True)
            dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]

    def _read(self, name: str) -> dict[str, Any] | None:
        path = self.path / name
        if path.is_symlink():
            return None
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

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

    # -- outputs and completion -------------------------------------------------------------------------------
    def outputs(self) -> dict[str, str]:
        """SHA-256 of every output file (relative path → hex digest) under the names irrobust writes (:data:`OWNED`);
        bookkeeping files, temporaries, links and anything else in the directory are not outputs.

        Example:
            >>> import tempfile
            >>> d = Path(tempfile.mkdtemp()); _ = (d / "results.csv").write_text("x"); _ = (d / "mine").write_text("y")
            >>> list(RunDir(d, "h").outputs())
            ['results.csv']
        """
        out: dict[str, str] = {}
        for root, dirs, files in os.walk(self.path, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not (Path(root) / d).is_symlink())
            if Path(root) == self.path:
                dirs[:] = [d for d in dirs if _owned(d)]
                files = [f for f in files if _owned(f)]
            for name in sorted(files):
                p = Path(root) / name
                rel = p.relative_to(self.path).as_posix()
                if rel in _BOOKKEEPING or _TEMP.match(name) or p.is_symlink() or not p.is_file():
                    continue
                out[rel] = sha256_file(p)
        return out

    def fail(self, error: str, details: str | None = None) -> None:
        """Record that the run stopped with an error.

        If a finished run's manifest was moved aside by :meth:`prepare` and every output it lists is unchanged, the
        manifest is restored and the directory stays a finished run (``run.json`` records the failed rerun);
        otherwise the directory is marked failed (incomplete). ``details`` (a traceback) goes into ``run.json``.

        Example:
            >>> import tempfile
            >>> rd = RunDir(Path(tempfile.mkdtemp()), "h"); rd.prepare(); rd.fail("boom")
        """
        previous = self._read(PREVIOUS)
        state: dict[str, Any] = {"config_hash": self.config_hash, "error": error, "stopped_at": now()}
        if details:
            state["details"] = details
        if previous is not None and previous.get("outputs") and previous["outputs"] == self.outputs():
            os.replace(self.path / PREVIOUS, self.path / MANIFEST)
            state.update(status="complete", note="a rerun failed before changing any output; the finished run "
                                                 "is intact")  # fmt: skip
        else:
            (self.path / PREVIOUS).unlink(missing_ok=True)
            state["status"] = "failed"
        atomic_write_json(self.path / STATE, state)

    def finish(self, manifest: dict[str, Any]) -> None:
        """Write ``manifest.json`` (last, with the checksums of all outputs) and mark the run complete.

        Example:
            >>> import tempfile
            >>> rd = RunDir(Path(tempfile.mkdtemp()), "h"); rd.prepare(); rd.finish({"a": 1})
            >>> (rd.path / "manifest.json").exists()
            True
        """
        manifest = {**manifest, "outputs": self.outputs()}
        atomic_write_json(
            self.path / STATE, {"config_hash": self.config_hash, "status": "complete", "finished_at": now()}
        )
        atomic_write_json(self.path / MANIFEST, manifest)
        (self.path / PREVIOUS).unlink(missing_ok=True)


def _owned(name: str) -> bool:
    """A top-level name that irrobust writes (see :data:`OWNED`)."""
    return name != LOCK and any(fnmatch.fnmatchcase(name, pat) for pat in OWNED)


def _inside_without_links(root: Path, target: Path) -> bool:
    """``target`` lies inside ``root`` and no component between them is a symbolic link (nothing is resolved)."""
    try:
        rel = Path(os.path.normpath(target)).relative_to(root)
    except ValueError:
        return False
    if not rel.parts or rel.parts[0] == "..":
        return False
    p = root
    for part in rel.parts[:-1]:
        p = p / part
        if p.is_symlink():
            return False
    return True


def _remove_tree(folder: Path, root: Path) -> list[str]:
    """Remove regular files and empty folders under ``folder`` bottom-up; never follow or remove a symbolic link."""
    removed = []
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False, followlinks=False):
        d = Path(dirpath)
        for name in filenames:
            p = d / name
            if stat.S_ISREG(p.lstat().st_mode):
                p.unlink()
                removed.append(p.relative_to(root).as_posix())
        for name in dirnames:
            p = d / name
            if not p.is_symlink():
                with contextlib.suppress(OSError):  # still holds a link (or something that is not a regular file)
                    p.rmdir()
    with contextlib.suppress(OSError):
        folder.rmdir()
    return removed
