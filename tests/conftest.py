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


@pytest.fixture(scope="session")
def small_knrm_dir(seed, tmp_path_factory) -> Path:
    """A small KNRM (60 SciFact training queries, 1 epoch, 1 thread; ~15 s) trained in a temporary directory.

    Tests train their own small models instead of loading the project's under ``indexes/``: a fresh machine has
    none, and a test must check the same thing everywhere.
    """
    from irrobust.rankers.knrm import KNRMConfig, train_knrm

    return train_knrm("beir/scifact/train", config=KNRMConfig(max_queries=60, epochs=1, threads=1),
                      directory=tmp_path_factory.mktemp("knrm") / "knrm-small", progress=False)  # fmt: skip


@pytest.fixture(scope="session")
def small_ce_dir(seed, tmp_path_factory) -> Path:
    """A tiny cross-encoder (4 SciFact training queries, one BM25 negative each, 48 tokens, 1 epoch) trained in a
    temporary directory (see :func:`small_knrm_dir`)."""
    from irrobust.rankers.cross_encoder import CrossEncoderConfig, train_cross_encoder
    from irrobust.rankers.training import NegativesConfig

    cfg = CrossEncoderConfig(max_queries=4, max_length=48, epochs=1, negatives=NegativesConfig(n_neg=1, depth=10),
                             seed=3, threads=1)  # fmt: skip
    return train_cross_encoder("beir/scifact/train", name="small-ce", config=cfg, progress=False,
                               directory=tmp_path_factory.mktemp("ce") / "small-ce")  # fmt: skip
