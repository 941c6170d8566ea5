"""Containing RecBole's side effects inside the run directory.

RecBole 1.2.1 writes into the current working directory: ``./log/`` (only when
``init_logger`` is called, which irrobust never does), ``./log_tensorboard/<name>/`` (every
``Trainer`` opens a ``SummaryWriter`` on a CWD-relative path; RecBole 1.2.1 has no config key
for it) and ``./saved/`` (``checkpoint_dir``, which irrobust always sets to an absolute path
under the run directory). :func:`recbole_sandbox` changes into a directory under the run
directory for the duration of the RecBole calls, sends RecBole's log records (it logs through
the *root* logger) to a file there, and restores the CWD, the root logger's level, the
other handlers' levels and ``$CUDA_VISIBLE_DEVICES`` (RecBole's ``Config`` sets it) afterwards,
even on error.

Example:
    >>> import tempfile, pathlib, os, logging
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> before = os.getcwd()
    >>> with recbole_sandbox(d / "rb") as work:
    ...     logging.getLogger().info("hello")
    ...     os.getcwd() == str(work)
    True
    >>> os.getcwd() == before, "hello" in (d / "rb" / "recbole.log").read_text()
    (True, True)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["recbole_sandbox"]


@contextlib.contextmanager
def recbole_sandbox(workdir: str | os.PathLike, log_name: str = "recbole.log") -> Iterator[Path]:
    """Run RecBole code with CWD = ``workdir`` and its root-logger output in ``workdir/log_name``.

    While inside, existing root handlers (e.g. the CLI's console handler) are raised to at least
    WARNING so RecBole's INFO chatter only reaches the file.

    Example:
        >>> import tempfile, pathlib
        >>> with recbole_sandbox(pathlib.Path(tempfile.mkdtemp())) as w:
        ...     w.is_dir()
        True
    """
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    old_level = root.level
    old_handler_levels = [(h, h.level) for h in root.handlers]
    fh = logging.FileHandler(work / log_name, encoding="utf-8")
    fh.setLevel(logging.INFO)
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    old_cwd = os.getcwd()
    old_cuda = os.environ.get("CUDA_VISIBLE_DEVICES")  # RecBole's Config overwrites it
    try:
        for h, lvl in old_handler_levels:
            h.setLevel(max(lvl, logging.WARNING))
        root.addHandler(fh)
        root.setLevel(logging.INFO)
        os.chdir(work)
        yield work
    finally:
        os.chdir(old_cwd)
        if old_cuda is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = old_cuda
        root.removeHandler(fh)
        fh.close()
        root.setLevel(old_level)
        for h, lvl in old_handler_levels:
            h.setLevel(lvl)
