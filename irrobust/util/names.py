"""File-name-safe names for systems, datasets and labels (one rule, used by every layer)."""

from __future__ import annotations

import re


def slug(name: str) -> str:
    """A file-name-safe version of a system or dataset name.

    Example:
        >>> slug("beir/scifact/test"), slug("bm25%100>>ce")
        ('beir-scifact-test', 'bm25_100__ce')
    """
    return re.sub(r"[^A-Za-z0-9_.=-]", "_", name.replace("/", "-")).strip("._") or "x"
