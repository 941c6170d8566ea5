"""The one checkpoint store of every task: one JSON file per unit, named by the unit's key.

Rules:

* **atomic**: a record is written to a temporary sibling and renamed into place
  (:func:`irrobust.util.io.atomic_write_bytes`); a killed run leaves a complete record or none;
* **written once**: :meth:`UnitStore.put` refuses to replace a valid record (a unit's result is a pure function
  of its key, so a second computation is a bug in the caller, not an update);
* **single writer**: only the driver process writes (executors send results back to it);
* **no code in the data**: records are plain JSON (``{"key": ..., "result": ...}``), read with :mod:`json` only,
  never unpickled. A file that does not parse, or holds another key, counts as absent and is recomputed.

:meth:`UnitStore.put` returns the result as a resumed run reads it back (the JSON round trip: tuples become
lists, dictionaries keep their order), so callers always combine the same values, computed now or loaded.

Example:
    >>> import tempfile
    >>> store = UnitStore(tempfile.mkdtemp())
    >>> store.put("ab12", {"x": 1.5, "y": (1, 2)})
    {'x': 1.5, 'y': [1, 2]}
    >>> store.get("ab12"), store.get("cd34")
    ({'x': 1.5, 'y': [1, 2]}, None)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from irrobust.core.task import Unit
from irrobust.errors import DataError
from irrobust.util.io import atomic_write_bytes

_KEY = re.compile(r"^[0-9a-f]{4,128}$")


def encode_record(key: str, result: Any) -> bytes:
    """The bytes of a record (sorted-key JSON; only JSON types are accepted, so nothing is silently stringified).

    Example:
        >>> encode_record("ab12", {"b": 1, "a": None})
        b'{"key": "ab12", "result": {"a": null, "b": 1}}\\n'
    """
    try:
        text = json.dumps({"key": key, "result": result}, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise DataError(f"a unit result must be plain JSON data (dict, list, str, int, float, bool, None): {exc}",
                        where=f"unit {key}") from None  # fmt: skip
    return (text + "\n").encode("utf-8")


class UnitStore:
    """Unit results under ``directory``, one file ``<key[:2]>/<key>.json`` per unit (see the module docstring).

    Example:
        >>> import tempfile
        >>> s = UnitStore(tempfile.mkdtemp()); _ = s.put("ab12", [1])
        >>> "ab12" in s, s.path("ab12").name
        (True, 'ab12.json')
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        """The record file of ``key`` (keys are lower-case hex, see :func:`irrobust.core.task.unit_key`)."""
        if not isinstance(key, str) or not _KEY.match(key):
            raise DataError(f"a unit key is 4-128 lower-case hex digits, got {key!r}", where=str(self.directory))
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The stored result of ``key``, or ``None`` when there is no valid record.

        Example:
            >>> import tempfile
            >>> UnitStore(tempfile.mkdtemp()).get("abcd") is None
            True
        """
        try:
            rec = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(rec, dict) or rec.get("key") != key or "result" not in rec:
            return None
        return rec["result"]

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def put(self, key: str, result: Any) -> Any:
        """Write the result of ``key`` once, atomically; return it as it reads back.

        Example:
            >>> import tempfile
            >>> s = UnitStore(tempfile.mkdtemp()); _ = s.put("abcd", 1)
            >>> s.put("abcd", 1)   # doctest: +IGNORE_EXCEPTION_DETAIL
            Traceback (most recent call last):
            irrobust.errors.DataError: unit abcd: already stored
        """
        data = encode_record(key, result)
        if self.get(key) is not None:
            raise DataError(f"the result of unit {key} is already stored; a unit result is written once",
                            where=str(self.path(key)))  # fmt: skip
        atomic_write_bytes(self.path(key), data)
        return json.loads(data)["result"]



def pending(units: Sequence[Unit], store: UnitStore) -> tuple[dict[str, Any], list[Unit]]:
    """Split ``units`` into the results ``store`` holds (by key) and the units still to run (each key once).

    Example:
        >>> import tempfile
        >>> from irrobust.core.task import unit_key
        >>> s = UnitStore(tempfile.mkdtemp()); k = unit_key(1); _ = s.put(k, 5)
        >>> done, todo = pending([Unit(k, 1), Unit(unit_key(2), 2), Unit(unit_key(2), 2)], s)
        >>> done[k], len(todo)
        (5, 1)
    """
    done: dict[str, Any] = {}
    todo: list[Unit] = []
    seen: set[str] = set()
    for unit in units:
        if unit.key in seen:
            continue
        seen.add(unit.key)
        res = store.get(unit.key)
        if res is None:
            todo.append(unit)
        else:
            done[unit.key] = res
    return done, todo


__all__ = ["UnitStore", "encode_record", "pending"]
