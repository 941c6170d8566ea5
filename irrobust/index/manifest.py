"""Manifests for built artefacts (indexes, embeddings, models).

A manifest is ``manifest.json`` inside the artefact directory. It records what the
artefact was built from (collection checksum, settings) so a stale or foreign artefact
is rebuilt or rejected instead of silently reused.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> write_manifest(d, {"kind": "x", "settings": {"a": 1}})
    >>> manifest_matches(d, {"kind": "x", "settings": {"a": 1}})
    True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from irrobust.util.io import atomic_write_json

MANIFEST = "manifest.json"


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest in ``directory``, or ``None`` if absent or unreadable.

    Example:
        >>> read_manifest(Path("/nonexistent")) is None
        True
    """
    path = Path(directory) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` atomically into ``directory``.

    Example:
        >>> import tempfile, pathlib
        >>> write_manifest(pathlib.Path(tempfile.mkdtemp()), {"k": 1})
    """
    atomic_write_json(Path(directory) / MANIFEST, manifest)


def manifest_matches(directory: Path, expected: dict[str, Any]) -> bool:
    """True if the manifest in ``directory`` has every key/value of ``expected``.

    Example:
        >>> manifest_matches(Path("/nonexistent"), {"k": 1})
        False
    """
    found = read_manifest(directory)
    if found is None:
        return False
    return all(json.dumps(found.get(k), sort_keys=True) == json.dumps(v, sort_keys=True) for k, v in expected.items())
