"""Suite-wide fixtures: the staged data directory, real-document subsets of a collection."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from irrobust import paths


@pytest.fixture(scope="session")
def seed() -> Path:
    """The staged data directory (tests need the real collections)."""
    s = paths.seed_dir()
    if s is None:
        pytest.skip("no staged data directory (set IRROBUST_SEED_DIR)")
    return s


class SubsetDocs:
    """The documents of a :class:`SubsetDataset` (the docs-store interface irrobust's indexers use)."""

    def __init__(self, docs: dict[str, str]) -> None:
        self._docs = docs

    def iter(self):
        yield from self._docs.items()

    def texts(self, docnos):
        return [self._docs[d] for d in docnos]

    def __len__(self) -> int:
        return len(self._docs)


class SubsetDataset:
    """Real documents of a collection (``docnos``) as a small collection of their own, for cheap index builds."""

    def __init__(self, ds, docnos, name: str, queries=None) -> None:
        keep = sorted(set(docnos))
        self.docs = SubsetDocs(dict(zip(keep, ds.docs.texts(keep), strict=True)))
        self.collection = self.id = f"test/{name}"
        self.docs_checksum = hashlib.sha256("\n".join(keep).encode()).hexdigest()
        self.queries = ds.queries if queries is None else queries
        self.qrels = ds.qrels[ds.qrels["qid"].isin(self.queries["qid"])]


@pytest.fixture(scope="session")
def subset_dataset():
    """Factory ``subset_dataset(ds, docnos, name, queries=None)`` of :class:`SubsetDataset` (build indexes of it under
    a temporary ``IRROBUST_INDEXES``)."""
    return SubsetDataset
