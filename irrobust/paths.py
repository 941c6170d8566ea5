"""Where irrobust keeps things.

* ``home()``: the workspace holding ``indexes/`` and the ir_datasets cache.
  ``$IRROBUST_HOME`` if set, else the source checkout (the folder with
  ``setup.cfg`` above the package), else ``~/.irrobust``.
* ``seed_dir()``: the read-only copy of public collections to seed caches from,
  ``$IRROBUST_SEED_DIR`` or ``../shared/data`` beside the checkout; ``None`` if absent,
  in which case ir_datasets / RecBole download as usual.

Example:
    >>> from irrobust import paths
    >>> paths.indexes_dir().name
    'indexes'
"""

from __future__ import annotations

import os
from pathlib import Path

_PKG = Path(__file__).resolve().parent
#: the source of irrobust's one Java helper (see :mod:`irrobust.index.lucene_direct`)
JAVA_HELPER_SOURCE = _PKG / "index" / "java" / "IrrobustTopDocs.java"


def home() -> Path:
    """The irrobust workspace directory.

    Example:
        >>> home().is_absolute()
        True
    """
    env = os.environ.get("IRROBUST_HOME")
    if env:
        return Path(env).expanduser().resolve()
    checkout = _PKG.parent
    if (checkout / "setup.cfg").exists():
        return checkout
    return Path("~/.irrobust").expanduser()


def indexes_dir() -> Path:
    """``<home>/indexes``: Lucene / FAISS indexes and trained models, per dataset.

    Example:
        >>> indexes_dir().name
        'indexes'
    """
    return Path(os.environ.get("IRROBUST_INDEXES", home() / "indexes")).expanduser().resolve()


def irds_home() -> Path:
    """The ir_datasets cache irrobust uses (``$IR_DATASETS_HOME`` if set, else ``<home>/.cache/ir_datasets``).

    Example:
        >>> irds_home().is_absolute()
        True
    """
    env = os.environ.get("IR_DATASETS_HOME")
    if env:
        return Path(env).expanduser().resolve()
    return home() / ".cache" / "ir_datasets"


def seed_dir() -> Path | None:
    """Directory with staged public datasets, or ``None`` when there is none.

    Example:
        >>> s = seed_dir()
        >>> s is None or s.is_dir()
        True
    """
    env = os.environ.get("IRROBUST_SEED_DIR")
    candidates = [Path(env).expanduser()] if env else []
    candidates.append(_PKG.parent.parent / "shared" / "data")
    for cand in candidates:
        if cand.is_dir():
            return cand.resolve()
    return None


def java_helper_dir() -> Path:
    """The folder holding the compiled Java helper, keyed by its source's hash (on the JVM's classpath).

    ``irrobust._bootstrap`` adds it to the classpath before the JVM starts; the class is compiled into it on
    first use (:mod:`irrobust.index.lucene_direct`).

    Example:
        >>> java_helper_dir().parent.name
        'java'
    """
    import hashlib

    source = JAVA_HELPER_SOURCE
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12] if source.is_file() else "none"
    return home() / ".cache" / "java" / f"irrobust-{digest}"
