"""Atomic writes and checksums.

A file or directory is either complete or absent: writes go to a temporary
sibling and are renamed into place, so a killed run never leaves a half file
that looks finished.

Fault injection (for the kill/resume tests): with ``IRROBUST_KILL_AT_WRITE=N`` in the environment the
process kills itself with ``SIGKILL`` right after its N-th atomic file write (``N:before``: after writing
the temporary file of the N-th write but before renaming it into place). Every checkpoint of every task
is such a write, so this kills a run at any unit boundary, exactly like an outside ``kill -9``.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> atomic_write_text(d / "a.txt", "hello")
    >>> (d / "a.txt").read_text()
    'hello'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_writes = 0


def _fault_point(before_rename: bool) -> None:
    """Kill this process if ``IRROBUST_KILL_AT_WRITE`` names the current write (see module docstring)."""
    spec = os.environ.get("IRROBUST_KILL_AT_WRITE")
    if not spec:
        return
    n, _, when = spec.partition(":")
    if n.strip().isdigit() and int(n) == _writes and (when.strip() == "before") == before_rename:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir, fsync, rename).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> atomic_write_bytes(p, b"\\x00\\x01"); p.read_bytes()
        b'\\x00\\x01'
    """
    global _writes
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    _writes += 1
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        _fault_point(before_rename=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fault_point(before_rename=False)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
        >>> atomic_write_text(p, "ok"); p.read_text()
        'ok'
    """
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON atomically.

    Example:
        >>> import tempfile, pathlib, json
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
        >>> atomic_write_json(p, {"b": 1, "a": 2}); json.loads(p.read_text())
        {'a': 2, 'b': 1}
    """
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


@contextlib.contextmanager
def atomic_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Build a directory under a temporary name and rename it to ``final`` on success.

    If the body raises (or the process is killed) ``final`` is untouched; a
    leftover ``.<name>.tmp-*`` sibling is removed on the next attempt.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp())
        >>> with atomic_dir(root / "idx") as tmp:
        ...     _ = (tmp / "f").write_text("1")
        >>> (root / "idx" / "f").read_text()
        '1'
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.tmp-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def build_lock(final: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on building ``final`` (a sibling ``.<name>.lock`` file, ``fcntl.flock``).

    Two processes that would build the same index or model wait for each other instead of racing on one
    work directory; the second one then finds the first one's result valid and reuses it.

    Example:
        >>> import tempfile, pathlib
        >>> with build_lock(pathlib.Path(tempfile.mkdtemp()) / "index"):
        ...     pass
    """
    import fcntl

    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"abc")
        >>> sha256_file(p)[:12]
        'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_json(obj: Any) -> str:
    """Hex SHA-256 of an object's canonical JSON (sorted keys), for config hashes.

    Example:
        >>> sha256_json({"a": 1}) == sha256_json({"a": 1})
        True
    """
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
