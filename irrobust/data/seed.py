"""Seed ir_datasets' cache from a directory of staged public files, so datasets work offline.

Each collection has a :class:`SeedRecipe`: the staged source files (relative to
:func:`irrobust.paths.seed_dir`) and how to place them where ir_datasets looks
(``$IR_DATASETS_HOME/<dir>/...``). A marker file records the sources' SHA-256; when
a source changes, the collection's cache directory (including ir_datasets' docstore,
which ir_datasets itself never invalidates) is wiped and seeded again, so a changed
corpus is never served from a stale cache. Without a seed directory nothing is
done and ir_datasets downloads as usual.

Before a collection is seeded, its source files are checked (:func:`irrobust.data.check.check_collection`):
a corrupt file raises :class:`~irrobust.errors.DataError` naming the dataset, file and line, and nothing is
installed. The check's counts and documented warnings are kept in a second marker beside the cache
(re-checked only when a source or the check itself changes), logged once per process on the
``irrobust.data`` logger, and returned by :func:`source_check`.

Example:
    >>> sorted(RECIPES)[:2]
    ['beir/nfcorpus', 'beir/scifact']
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from irrobust import paths
from irrobust.data.classic import trec_docs_to_npl, trec_qrels_to_npl, trec_topics_to_npl
from irrobust.errors import DataError
from irrobust.util.io import atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_file

MARKER = ".irrobust-seed.json"
RECIPE_VERSION = 1
#: the source-check marker; bump CHECK_VERSION whenever irrobust.data.check changes what it accepts
CHECK_MARKER = ".irrobust-check.json"
CHECK_VERSION = 1

_log = logging.getLogger("irrobust.data")
_CHECKS: dict[str, dict] = {}
_ANNOUNCED: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class SeedRecipe:
    """How one collection's staged files become ir_datasets cache files.

    Attributes:
        irds_dir: the collection's directory under ``$IR_DATASETS_HOME``.
        sources: staged files, relative to the seed directory.
        targets: file names written into ``irds_dir``, one per source.
        convert: optional text conversion applied per source (e.g. TREC → NPL).
    """

    irds_dir: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    convert: tuple[Callable[[str], str] | None, ...] | None = None

    def install(self, seed: Path, target: Path) -> None:
        """Copy or convert every source into ``target``.

        Example:
            >>> RECIPES["cranfield"].targets
            ('docs.txt', 'queries.txt', 'qrels.txt')
        """
        converters = self.convert or (None,) * len(self.sources)
        for src, dst, conv in zip(self.sources, self.targets, converters, strict=True):
            if conv is None:
                atomic_write_bytes(target / dst, (seed / src).read_bytes())
            else:
                atomic_write_text(target / dst, conv((seed / src).read_text(encoding="utf-8")))


RECIPES: dict[str, SeedRecipe] = {
    "beir/scifact": SeedRecipe("beir/scifact", ("scifact/scifact.zip",), ("source.zip",)),
    "beir/nfcorpus": SeedRecipe("beir/nfcorpus", ("nfcorpus/nfcorpus.zip",), ("source.zip",)),
    "cranfield": SeedRecipe(
        "cranfield",
        ("cranfield/cran.all.1400", "cranfield/cran.qry", "cranfield/cranqrel"),
        ("docs.txt", "queries.txt", "qrels.txt"),
    ),
    "vaswani": SeedRecipe(
        "vaswani",
        ("vaswani/doc-text.trec", "vaswani/query-text.trec", "vaswani/qrels"),
        ("docs.txt", "queries.txt", "qrels.txt"),
        (trec_docs_to_npl, trec_topics_to_npl, trec_qrels_to_npl),
    ),
    "cacm": SeedRecipe(
        "cacm", ("cacm/cacm.all", "cacm/query.text", "cacm/qrels.text"), ("docs.txt", "queries.txt", "qrels.txt")
    ),
    "cisi": SeedRecipe(
        "cisi", ("cisi/CISI.ALL", "cisi/CISI.QRY", "cisi/CISI.REL"), ("docs.txt", "queries.txt", "qrels.txt")
    ),
}


def collection_of(dataset_id: str) -> str:
    """The collection (docs namespace) of a dataset ID: the longest known prefix, else the ID's first part(s).

    Example:
        >>> collection_of("beir/scifact/test"), collection_of("cranfield"), collection_of("beir/fiqa/dev")
        ('beir/scifact', 'cranfield', 'beir/fiqa')
    """
    for key in sorted(RECIPES, key=len, reverse=True):
        if dataset_id == key or dataset_id.startswith(key + "/"):
            return key
    parts = dataset_id.split("/")
    return "/".join(parts[:2]) if parts[0] == "beir" and len(parts) > 1 else parts[0]


def ensure_seeded(collection: str, seed: Path | None = None, irds_home: Path | None = None) -> str | None:
    """Seed ``collection`` into the ir_datasets cache if a staged copy exists; return its source checksum.

    Returns ``None`` when there is no recipe or no staged copy (ir_datasets then downloads).
    Re-seeds (wiping the cached collection) when the staged sources changed since the last seed.

    Example:
        >>> ensure_seeded("no-such-collection") is None
        True
    """
    recipe = RECIPES.get(collection)
    seed = seed if seed is not None else paths.seed_dir()
    if recipe is None or seed is None:
        return None
    present = [(seed / s).is_file() for s in recipe.sources]
    if not any(present):
        return None
    if not all(present):  # never fall back to a stale cache or a download when the staged copy is incomplete
        missing = [str(seed / s) for s, ok in zip(recipe.sources, present, strict=True) if not ok]
        raise DataError(
            f"the staged copy is incomplete: {', '.join(missing)} is missing (or not a file); restore it",
            where=f"dataset {collection}: {seed}",
        )
    home = irds_home if irds_home is not None else Path(os.environ.get("IR_DATASETS_HOME", paths.irds_home()))
    target = home / recipe.irds_dir
    sums = {s: sha256_file(seed / s) for s in recipe.sources}
    wanted = {"recipe_version": RECIPE_VERSION, "sources": sums}
    check_key = {"check_version": CHECK_VERSION, "sources": sums}
    marker, check_marker = target / MARKER, target / CHECK_MARKER
    current, checked = _read_json(marker), _read_json(check_marker)
    if not isinstance(checked, dict) or checked.get("key") != check_key:
        from irrobust.data.check import check_collection

        checked = {"key": check_key, "check": check_collection(collection, seed, RECIPES[collection].sources).as_dict()}  # raises DataError
    if current != wanted or not all((target / t).is_file() for t in recipe.targets):
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True, exist_ok=True)
        try:
            recipe.install(seed, target)
        except (ValueError, OSError) as exc:  # the check above passed, so this is unexpected: still no traceback
            shutil.rmtree(target, ignore_errors=True)
            raise DataError(
                f"cannot seed the collection from the staged copy: {exc}", where=f"dataset {collection}"
            ) from exc
        atomic_write_json(marker, wanted)
    if _read_json(check_marker) != checked:
        atomic_write_json(check_marker, checked)
    combined = _combined(sums)
    _CHECKS[collection] = checked["check"]
    _announce(collection, combined, checked["check"])
    return combined


def _read_json(path: Path):
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError):
        return None


def _announce(collection: str, combined: str, check: dict) -> None:
    if (collection, combined) in _ANNOUNCED:
        return
    _ANNOUNCED.add((collection, combined))
    for warning in check.get("warnings", []):
        _log.warning("irrobust: warning: dataset %s: %s", collection, warning)


def source_check(collection: str) -> dict | None:
    """The source check of a collection seeded in this process (counts, warnings, modified files), if any.

    Example:
        >>> source_check("no-such-collection") is None
        True
    """
    return _CHECKS.get(collection)


def _combined(sums: dict[str, str]) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()


def seed_all() -> dict[str, str | None]:
    """Seed every collection that has a staged copy (used by ``scripts/setup.sh``).

    Example:
        >>> isinstance(seed_all(), dict)  # doctest: +SKIP
        True
    """
    return {name: ensure_seeded(name) for name in RECIPES}
