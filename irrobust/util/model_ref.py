"""What a ``model:`` value names: an irrobust-trained model, a model directory, or a Hugging Face hub id.

The rule (the same in YAML and in Python):

* a plain name without ``/`` (``ce-minilm``, ``knrm-minilm-1a2b3c4d``) is a model irrobust trained and keeps under
  ``indexes/<collection>/models/<name>``;
* a value starting with ``/``, ``./``, ``../`` or ``~``, or with two or more ``/`` (``models/ce/v2``), is a local
  **directory** — relative ones are taken relative to the pipeline file (``base_dir``; the working directory in
  Python) — and must exist and hold a model (``config.json`` or ``modules.json``);
* ``org/name`` (one ``/``) is a local directory when one exists at that relative path (as sentence-transformers
  itself decides), else a **hub id**, loaded by the ordinary sentence-transformers call (downloaded and cached by
  huggingface_hub when online).

A missing or non-model directory is a located :class:`~irrobust.errors.ConfigError`.

:func:`directory_fingerprint` hashes a model directory's files (relative path and sha256 of each, hidden files
skipped) — what caches keyed by an external model (its dense index, its run files) use.

Example:
    >>> parse_model_ref("ce-minilm")
    ModelRef(kind='name', value='ce-minilm')
    >>> parse_model_ref("cross-encoder/ms-marco-MiniLM-L6-v2").kind
    'hub'
    >>> parse_model_ref("./no/such/dir")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    irrobust.errors.ConfigError: model: no model directory ...
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from irrobust.errors import ConfigError
from irrobust.util.io import sha256_file

#: an irrobust model name (a folder name: letters, digits and ``_.+=-``; see the pipeline registry)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+=-]{0,99}$")
#: a hub repository id ``org/name`` (the hub's own character set)
HUB_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
#: a directory holding one of these files is a model directory (Hugging Face / sentence-transformers)
MODEL_MARKERS = ("config.json", "modules.json")


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``model:`` value: ``kind`` ``name`` (irrobust-trained), ``dir`` (absolute path) or ``hub`` (id).

    Example:
        >>> ModelRef("hub", "org/name").external
        True
    """

    kind: Literal["name", "dir", "hub"]
    value: str

    @property
    def external(self) -> bool:
        """True for a directory or hub id (a model irrobust did not train under a name)."""
        return self.kind != "name"

    @property
    def label(self) -> str:
        """A short display name: the name, the directory's last part, or the hub id.

        Example:
            >>> ModelRef("dir", "/models/my-ce").label
            'my-ce'
        """
        return Path(self.value).name if self.kind == "dir" else self.value


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or value in (".", "..") or value.count("/") >= 2


def parse_model_ref(value: str, base_dir: str | os.PathLike | None = None, where: str = "model") -> ModelRef:
    """Classify ``value`` (see the module docstring); directories come back absolute and checked.

    Raises :class:`ConfigError` at ``where`` for an empty value, a missing directory, a directory without a model,
    or a value that is none of the three forms.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "config.json").write_text("{}")
        >>> parse_model_ref(str(d)).kind
        'dir'
    """
    text = str(value).strip()
    if not text:
        raise ConfigError("empty model reference", where=where)
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    if "/" not in text and not _looks_like_path(text):
        if not NAME_PATTERN.match(text) or ".." in text:
            raise ConfigError(f"{text!r} is not a model name (letters, digits and _.+=-), a directory or a hub id "
                              "(org/name)", where=where)  # fmt: skip
        return ModelRef("name", text)
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = base / candidate
    if _looks_like_path(text) or candidate.is_dir():
        return ModelRef("dir", str(check_model_directory(candidate, where)))
    if HUB_PATTERN.match(text) and ".." not in text:
        return ModelRef("hub", text)
    raise ConfigError(f"{text!r} is neither an existing model directory (relative to {base}) nor a hub id "
                      "(org/name)", where=where)  # fmt: skip


def check_model_directory(path: str | os.PathLike, where: str = "model") -> Path:
    """``path`` resolved, after checking it is a directory holding a model (``config.json`` or ``modules.json``).

    Example:
        >>> check_model_directory("/nonexistent/model")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: model: no model directory at /nonexistent/model
    """
    p = Path(path).expanduser().resolve()
    if not p.is_dir():
        raise ConfigError(f"no model directory at {p}" + (" (it is a file)" if p.exists() else ""), where=where)
    if not any((p / marker).is_file() for marker in MODEL_MARKERS):
        raise ConfigError(f"{p} is not a model directory: it has neither config.json (Hugging Face) nor modules.json "
                          "(sentence-transformers)", where=where)  # fmt: skip
    return p


def directory_fingerprint(path: str | os.PathLike) -> str:
    """SHA-256 over (relative path, sha256) of every regular file under ``path``, sorted; hidden entries skipped.

    Cached per process while no file's size or modification time changes.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "w.bin").write_bytes(b"1")
        >>> directory_fingerprint(d) == directory_fingerprint(d)
        True
    """
    root = Path(path).resolve()
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            f = Path(dirpath) / name
            st = f.stat()
            files.append((f.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return _fingerprint(str(root), tuple(files))


@functools.lru_cache(maxsize=64)
def _fingerprint(root: str, files: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    for rel, _size, _mtime in files:
        h.update(rel.encode("utf-8") + b"\0" + sha256_file(Path(root) / rel).encode("ascii") + b"\n")
    return h.hexdigest()


def module_fingerprint(module: object) -> str:
    """SHA-256 of a torch module's state (parameter names, dtypes, shapes and bytes) — for hub models, whose files
    live in huggingface_hub's cache.

    Example:
        >>> import torch
        >>> module_fingerprint(torch.nn.Linear(2, 1)) != module_fingerprint(torch.nn.Linear(2, 1))
        True
    """
    import torch

    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):  # type: ignore[attr-defined]
        t = tensor.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{tuple(tensor.shape)}\n".encode())
        if t.numel():
            h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


__all__ = ["ModelRef", "check_model_directory", "directory_fingerprint", "module_fingerprint", "parse_model_ref"]
