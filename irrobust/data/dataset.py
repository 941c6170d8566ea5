"""Datasets by standard ID: docs, queries and qrels as tables, through ir_datasets.

``dataset("beir/scifact/test")`` seeds ir_datasets' cache from the staged copy when there
is one (see :mod:`irrobust.data.seed`), then loads lazily. Classic collections use
ir_datasets' IDs where it has them (``cranfield``, ``vaswani``) and irrobust registers
``cacm`` and ``cisi``. Relevance labels are normalised to TREC gains (Cranfield's
reversed grades are mapped by :func:`irrobust.data.classic.cranfield_gain`).

Example:
    >>> ds = dataset("beir/scifact/test")          # doctest: +SKIP
    >>> ds.queries.shape, ds.qrels.columns.tolist()  # doctest: +SKIP
    ((300, 2), ['qid', 'docno', 'label'])
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ir_datasets
import pandas as pd

import irrobust._bootstrap  # noqa: F401  (sets IR_DATASETS_HOME before ir_datasets is imported)
from irrobust.data.classic import cranfield_gain, register_smart_collections
from irrobust.data.seed import RECIPES, collection_of, ensure_seeded, source_check
from irrobust.errors import DataError
from irrobust.util.io import sha256_file

#: IDs irrobust documents and tests (any other ir_datasets ID also works, downloading as usual).
KNOWN_DATASETS: tuple[str, ...] = (
    "beir/scifact/train",
    "beir/scifact/test",
    "beir/nfcorpus/train",
    "beir/nfcorpus/dev",
    "beir/nfcorpus/test",
    "cranfield",
    "cisi",
    "cacm",
    "vaswani",
)

#: per-collection relevance-label mapping to TREC gains
LABEL_MAPS: dict[str, Callable[[int], int]] = {"cranfield": cranfield_gain}


def _doc_text(doc) -> str:
    if hasattr(doc, "default_text"):
        return " ".join(doc.default_text().split())
    return " ".join(str(doc.text).split())


class DocStore:
    """Random access to a collection's document texts (title + body, whitespace-normalised).

    Example:
        >>> store = dataset("beir/scifact/test").docs   # doctest: +SKIP
        >>> store.text("4983")[:30]                     # doctest: +SKIP
        'Microstructural development of'
    """

    def __init__(self, irds, collection: str) -> None:
        self._irds = irds
        self.collection = collection

    @functools.cached_property
    def _store(self):
        return self._irds.docs_store()

    def text(self, docno: str) -> str:
        """The text of one document; :class:`DataError` if it does not exist.

        Example:
            >>> dataset("cranfield").docs.text("1")[:20]   # doctest: +SKIP
            'experimental investi'
        """
        try:
            return _doc_text(self._store.get(docno))
        except KeyError as exc:
            raise DataError(f"no document {docno!r}", where=self.collection) from exc

    def texts(self, docnos: Sequence[str]) -> list[str]:
        """Texts of several documents, in order.

        Example:
            >>> len(dataset("cranfield").docs.texts(["1", "2"]))  # doctest: +SKIP
            2
        """
        found = self._store.get_many(list(dict.fromkeys(docnos)))
        missing = [d for d in docnos if d not in found]
        if missing:
            raise DataError(f"no documents {missing[:5]}{' ...' if len(missing) > 5 else ''}", where=self.collection)
        return [_doc_text(found[d]) for d in docnos]

    def iter(self) -> Iterator[tuple[str, str]]:
        """Yield ``(docno, text)`` for every document in collection order.

        Example:
            >>> next(dataset("cranfield").docs.iter())[0]  # doctest: +SKIP
            '1'
        """
        try:
            for doc in self._irds.docs_iter():
                yield doc.doc_id, _doc_text(doc)
        except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError, RuntimeError) as exc:
            raise DataError(f"cannot parse the documents: {exc}", where=self.collection) from exc

    @functools.cached_property
    def docnos(self) -> frozenset[str]:
        """All document ids.

        Example:
            >>> "1" in dataset("cranfield").docs.docnos  # doctest: +SKIP
            True
        """
        return frozenset(d for d, _ in self.iter())

    def __len__(self) -> int:
        n = self._irds.docs_count()
        return int(n) if n is not None else len(self.docnos)


@dataclass
class Dataset:
    """One dataset: a collection's documents plus a split's queries and qrels.

    Attributes:
        id: the dataset ID, e.g. ``"beir/scifact/test"``.
        collection: the documents' namespace shared by splits, e.g. ``"beir/scifact"``.

    Example:
        >>> ds = dataset("cranfield")          # doctest: +SKIP
        >>> int(ds.qrels.label.max())          # doctest: +SKIP
        4
    """

    id: str
    collection: str
    irds: object = field(repr=False)
    seed_checksum: str | None = field(default=None, repr=False)

    @functools.cached_property
    def docs(self) -> DocStore:
        """The collection's documents.

        Example:
            >>> len(dataset("cranfield").docs)  # doctest: +SKIP
            1400
        """
        if not self.irds.has_docs():
            raise DataError("this dataset has no documents", where=self.id)
        return DocStore(self.irds, self.collection)

    @functools.cached_property
    def queries(self) -> pd.DataFrame:
        """``qid, query`` for the split; :class:`DataError` if a query text is empty.

        Example:
            >>> dataset("beir/scifact/test").queries.shape  # doctest: +SKIP
            (300, 2)
        """
        if not self.irds.has_queries():
            raise DataError("this dataset has no queries", where=self.id)
        rows = [(q.query_id, " ".join(q.text.split())) for q in self._guard(self.irds.queries_iter, "queries")]
        qrels_qids = set(self.qrels.qid) if self.irds.has_qrels() else None
        df = pd.DataFrame(rows, columns=["qid", "query"])
        if qrels_qids is not None:
            df = df[df.qid.isin(qrels_qids)].reset_index(drop=True)
        empty = df[df["query"].str.len() == 0]
        if len(empty):
            raise DataError(f"empty query text for qid(s) {empty.qid.tolist()[:5]}", where=f"{self.id} queries")
        return df

    @functools.cached_property
    def qrels(self) -> pd.DataFrame:
        """``qid, docno, label`` with TREC gains (label > 0 is relevant).

        Example:
            >>> dataset("beir/scifact/test").qrels.label.unique().tolist()  # doctest: +SKIP
            [1]
        """
        if not self.irds.has_qrels():
            raise DataError("this dataset has no relevance judgements", where=self.id)
        rows = [(q.query_id, q.doc_id, q.relevance) for q in self._guard(self.irds.qrels_iter, "qrels")]
        df = pd.DataFrame(rows, columns=["qid", "docno", "label"])
        bad = pd.to_numeric(df["label"], errors="coerce").isna()
        if bad.any():
            raise DataError(
                f"non-numeric relevance label(s): {df[bad].head(3).values.tolist()}", where=f"{self.id} qrels"
            )
        df["label"] = df["label"].astype(int)
        mapping = LABEL_MAPS.get(self.collection)
        if mapping is not None:
            df["label"] = df["label"].map(mapping).astype(int)
        return df.drop_duplicates(["qid", "docno"], keep="last").reset_index(drop=True)

    def validate(self) -> None:
        """Check that every judged document exists in the collection; :class:`DataError` otherwise.

        Example:
            >>> dataset("cisi").validate()  # doctest: +SKIP
        """
        unknown = sorted(set(self.qrels.docno) - self.docs.docnos)
        if unknown:
            raise DataError(
                f"qrels name {len(unknown)} document(s) not in the collection, e.g. {unknown[:5]}; "
                "the qrels file is corrupt or belongs to another collection",
                where=f"{self.id} qrels",
            )

    @property
    def source_check(self) -> dict | None:
        """The staged sources' check (:mod:`irrobust.data.check`): counts, documented warnings, modified files.

        ``None`` for a collection that was not seeded from a staged copy.

        Example:
            >>> dataset("cranfield").source_check["counts"]["empty_documents"]  # doctest: +SKIP
            2
        """
        return source_check(self.collection) if self.seed_checksum else None

    @functools.cached_property
    def docs_checksum(self) -> str:
        """A checksum of the collection's source files (changes whenever the corpus changes).

        Example:
            >>> len(dataset("beir/scifact/test").docs_checksum)  # doctest: +SKIP
            64
        """
        if self.seed_checksum:
            return self.seed_checksum
        path = Path(self.irds.docs_path())
        if path.is_file():
            return sha256_file(path)
        return hashlib.sha256(str(path).encode()).hexdigest()

    def _guard(self, fn, what: str):
        try:
            yield from fn()
        except DataError:
            raise
        except (ValueError, KeyError, IndexError, UnicodeDecodeError, RuntimeError) as exc:
            raise DataError(f"cannot parse {what}: {exc}", where=self.id) from exc
        except OSError as exc:  # includes ConnectionError from a download attempt
            raise DataError(
                f"cannot read {what} ({exc}); no staged copy was found (set IRROBUST_SEED_DIR) and downloading failed",
                where=self.id,
            ) from exc


def train_split_of(dataset_id: str) -> str | None:
    """The training split of a dataset's collection (``beir/scifact/test`` → ``beir/scifact/train``), if any.

    Example:
        >>> train_split_of("beir/nfcorpus/test"), train_split_of("cranfield")
        ('beir/nfcorpus/train', None)
    """
    register_smart_collections()
    candidate = f"{collection_of(dataset_id)}/train"
    return candidate if candidate in ir_datasets.registry else None


def check_dataset_id(dataset_id: str) -> None:
    """Raise :class:`DataError` (with close matches) if ``dataset_id`` is not a known dataset ID.

    Example:
        >>> check_dataset_id("cranfield")
    """
    register_smart_collections()
    if dataset_id not in ir_datasets.registry:
        choices = list(KNOWN_DATASETS) + [k for k in ir_datasets.registry._registered if k not in KNOWN_DATASETS]
        close = difflib.get_close_matches(dataset_id, choices, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(KNOWN_DATASETS)}"
        raise DataError(f"unknown dataset ID {dataset_id!r}{hint}")


@functools.lru_cache(maxsize=64)
def _load(dataset_id: str) -> Dataset:
    check_dataset_id(dataset_id)
    collection = collection_of(dataset_id)
    checksum = ensure_seeded(collection) if collection in RECIPES else None
    return Dataset(dataset_id, collection, ir_datasets.load(dataset_id), checksum)


def dataset(dataset_id: str) -> Dataset:
    """Load a dataset by ID (ir_datasets names), seeding the cache from the staged copy first.

    The staged copy is re-checked on every call, so a changed source is re-seeded.

    Example:
        >>> ds = dataset("beir/nfcorpus/test")   # doctest: +SKIP
        >>> ds.collection                         # doctest: +SKIP
        'beir/nfcorpus'
    """
    if not isinstance(dataset_id, str) or not dataset_id.strip():
        raise DataError(f"a dataset ID must be a non-empty string, got {dataset_id!r}")
    ds = _load(dataset_id.strip())
    if ds.collection in RECIPES:
        checksum = ensure_seeded(ds.collection)
        if checksum != ds.seed_checksum:  # the staged copy changed since this process loaded it
            _load.cache_clear()
            ds = _load(dataset_id.strip())
    return ds
