"""The counter-fitted synonym table (word → neighbour list), shared by shifts, attacks and certification.

The table is ``counterfitted-neighbors/counterfitted_neighbors.json`` in the seed directory
(:func:`irrobust.paths.seed_dir`): the substitution sets of Alzantot et al. (EMNLP 2018), built from the
counter-fitted word vectors of Mrkšić et al. (NAACL 2016), as published by Jia et al. (EMNLP 2019).
49,975 lower-case words, at most 8 neighbours each; neighbour lists are not symmetric.

Example:
    >>> table = load_counterfitted()  # doctest: +SKIP
    >>> table["risk"][:3]  # doctest: +SKIP
    ['risks', 'peril', 'hazard']
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from irrobust import paths
from irrobust.errors import DataError

COUNTERFITTED_RELPATH = Path("counterfitted-neighbors") / "counterfitted_neighbors.json"


def counterfitted_path() -> Path | None:
    """Where the table is expected: ``<seed_dir>/counterfitted-neighbors/counterfitted_neighbors.json``.

    ``None`` when there is no seed directory.

    Example:
        >>> p = counterfitted_path()
        >>> p is None or p.name == "counterfitted_neighbors.json"
        True
    """
    seed = paths.seed_dir()
    return None if seed is None else seed / COUNTERFITTED_RELPATH


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict[str, list[str]]:
    try:
        with open(path, encoding="utf-8") as fh:
            raw = json.load(fh)
    except FileNotFoundError:
        raise DataError("the counter-fitted synonym table is missing", where=path) from None
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the counter-fitted synonym table: {exc}", where=path) from None
    if not isinstance(raw, dict):
        raise DataError(f"expected a JSON object word → list of words, got {type(raw).__name__}", where=path)
    table: dict[str, list[str]] = {}
    for word, neighbours in raw.items():
        if not isinstance(neighbours, list) or not all(isinstance(n, str) for n in neighbours):
            raise DataError(f"the entry for {word!r} is not a list of words", where=path)
        table[word] = [n for n in neighbours if n != word]
    return table


def load_counterfitted(path: str | Path | None = None) -> dict[str, list[str]]:
    """Load the counter-fitted neighbour table (cached per path; treat the result as read-only).

    Args:
        path: the JSON file; default :func:`counterfitted_path`.

    Raises:
        DataError: the file is absent, unreadable or not a word → list-of-words object.

    Example:
        >>> "tumor" in load_counterfitted().get("cancer", [])  # doctest: +SKIP
        True
    """
    if path is None:
        path = counterfitted_path()
        if path is None:
            raise DataError(
                "no seed data directory, so the counter-fitted synonym table "
                f"({COUNTERFITTED_RELPATH}) cannot be found; set $IRROBUST_SEED_DIR to the staged shared/data",
                where="counterfitted-neighbors",
            )
    return _load(str(Path(path).expanduser().resolve()))


def counterfitted_synonyms(word: str, path: str | Path | None = None) -> list[str]:
    """The neighbours of ``word`` (looked up in lower case); ``[]`` when it has none.

    Example:
        >>> counterfitted_synonyms("cancer")  # doctest: +SKIP
        ['tumor', 'tumors']
    """
    return list(load_counterfitted(path).get(word.lower(), []))
