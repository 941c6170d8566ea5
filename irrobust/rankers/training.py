"""Shared training-data and model-directory helpers for irrobust's neural rankers.

Training data: for every training query, its judged-relevant documents are positives and the
documents BM25 ranks in its top ``depth`` that are *not* judged relevant are hard negatives
(the usual recipe for rerankers, e.g. Nogueira & Cho, "Passage Re-ranking with BERT", 2019, and
Gao, Dai & Callan, "Rethink Training of BERT Rerankers in Multi-Stage Retrieval Pipeline", ECIR 2021).
A training *group* is one positive plus ``n_neg`` negatives sampled (seeded) from that pool.

Model directories live at ``indexes_dir()/<collection>/models/<name>/``, are built with
:func:`irrobust.util.io.atomic_dir` and carry a ``manifest.json`` recording what they were trained
from and the sha256 of every file, so that a stale, foreign or corrupted model is reported as a
:class:`~irrobust.errors.ModelError` instead of crashing or being silently reused.

Example:
    >>> import pandas as pd
    >>> run = pd.DataFrame({"qid": ["1"] * 4, "docno": ["a", "b", "c", "d"], "rank": [1, 2, 3, 4]})
    >>> qrels = pd.DataFrame({"qid": ["1"], "docno": ["b"], "label": [1]})
    >>> hard_negatives(run, qrels, depth=3)["1"]
    ['a', 'c']
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irrobust import paths
from irrobust.errors import ModelError
from irrobust.util.compute import default_threads  # noqa: F401  (re-exported: trainers import it from here)
from irrobust.util.io import atomic_dir, atomic_write_json, sha256_file

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


# --------------------------------------------------------------------------------------------
# training data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NegativesConfig:
    """How hard negatives are drawn: ``n_neg`` per positive, sampled from BM25's top ``depth``.

    ``sampling="random"`` draws uniformly (seeded) from the pool; ``"top"`` takes the highest-ranked.

    Example:
        >>> NegativesConfig(n_neg=3).depth
        100
    """

    retriever: str = "bm25"
    depth: int = 100
    n_neg: int = 3
    sampling: str = "random"

    def __post_init__(self) -> None:
        if self.retriever != "bm25":
            raise ModelError(f"unknown negatives retriever {self.retriever!r}; only 'bm25' is supported")
        if self.sampling not in ("random", "top"):
            raise ModelError(f"negatives sampling must be 'random' or 'top', got {self.sampling!r}")
        if self.depth < 1 or self.n_neg < 1:
            raise ModelError(f"depth and n_neg must be positive, got depth={self.depth}, n_neg={self.n_neg}")


def hard_negatives(run: pd.DataFrame, qrels: pd.DataFrame, depth: int = 100) -> dict[str, list[str]]:
    """Per query, the docnos in ``run``'s top ``depth`` that are not judged relevant (label > 0), in rank order.

    Judged non-relevant documents (label <= 0) stay in the pool: they are certain negatives.

    Example:
        >>> import pandas as pd
        >>> run = pd.DataFrame({"qid": ["1", "1"], "docno": ["x", "y"], "rank": [1, 2]})
        >>> hard_negatives(run, pd.DataFrame({"qid": ["1"], "docno": ["x"], "label": [1]}))
        {'1': ['y']}
    """
    relevant = set(
        zip(
            qrels.loc[qrels["label"] > 0, "qid"].astype(str),
            qrels.loc[qrels["label"] > 0, "docno"].astype(str),
            strict=True,
        )
    )
    top = run[run["rank"] <= depth].sort_values(["qid", "rank"], kind="mergesort")
    out: dict[str, list[str]] = {}
    for qid, docno in zip(top["qid"].astype(str), top["docno"].astype(str), strict=True):
        if (qid, docno) not in relevant:
            out.setdefault(qid, []).append(docno)
    return out


def training_queries(ds: Any, cfg: Any) -> pd.DataFrame:
    """The training queries of ``ds`` for a model config: document-disjoint if asked, then ``max_queries``.

    ``cfg.disjoint_from`` (a dataset ID, usually the evaluation split) drops every training query one of whose
    relevant documents is relevant for a query of that dataset (:mod:`irrobust.data.overlap`), so that a learned
    ranker cannot score well by remembering the evaluation's relevant documents.

    Example:
        >>> from irrobust.rankers.knrm import KNRMConfig
        >>> training_queries(ds, KNRMConfig(disjoint_from="beir/scifact/test")).shape[0]   # doctest: +SKIP
        537
    """
    queries = ds.queries
    other = getattr(cfg, "disjoint_from", None)
    if other:
        from irrobust.data.dataset import dataset
        from irrobust.data.overlap import disjoint_training_qids

        keep = set(disjoint_training_qids(ds.qrels, dataset(other).qrels))
        queries = queries[queries["qid"].astype(str).isin(keep)]
        if queries.empty:
            raise ModelError(f"no training query of {ds.id} is document-disjoint from {other}", where=ds.id)
    return select_queries(queries, cfg.max_queries, cfg.seed)


def select_queries(queries: pd.DataFrame, max_queries: int | None, seed: int) -> pd.DataFrame:
    """All queries, or a seeded sample of ``max_queries`` of them (for quick tests), in qid order.

    Example:
        >>> import pandas as pd
        >>> q = pd.DataFrame({"qid": list("abcd"), "query": list("wxyz")})
        >>> select_queries(q, 2, seed=0)["qid"].tolist() == select_queries(q, 2, seed=0)["qid"].tolist()
        True
    """
    q = queries.sort_values("qid", kind="mergesort").reset_index(drop=True)
    if max_queries is None or max_queries >= len(q):
        return q
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(q), size=int(max_queries), replace=False))
    return q.iloc[keep].reset_index(drop=True)


def holdout_queries(queries: pd.DataFrame, fraction: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``queries`` into (train, held-out) with a seeded sample of ``fraction`` held out (qid order kept).

    Example:
        >>> import pandas as pd
        >>> q = pd.DataFrame({"qid": list("abcdefghij"), "query": list("abcdefghij")})
        >>> train, dev = holdout_queries(q, 0.2, seed=0)
        >>> len(train), len(dev), set(train["qid"]) & set(dev["qid"])
        (8, 2, set())
    """
    if not 0.0 <= fraction < 1.0:
        raise ModelError(f"the held-out fraction must be in [0, 1), got {fraction}")
    q = queries.sort_values("qid", kind="mergesort").reset_index(drop=True)
    n_dev = int(round(fraction * len(q)))
    if n_dev == 0:
        return q, q.iloc[:0]
    rng = np.random.default_rng(seed)
    dev = np.zeros(len(q), dtype=bool)
    dev[rng.choice(len(q), size=n_dev, replace=False)] = True
    return q[~dev].reset_index(drop=True), q[dev].reset_index(drop=True)


def training_groups(
    queries: pd.DataFrame,
    qrels: pd.DataFrame,
    run: pd.DataFrame,
    negatives: NegativesConfig,
    seed: int,
    max_pos_per_query: int | None = None,
) -> pd.DataFrame:
    """One row per (query, positive) with ``n_neg`` hard negatives: ``qid, query, pos, negs`` (negs: list of docnos).

    Queries without a positive or without any BM25 negative are dropped. When the pool is smaller than
    ``n_neg``, negatives are repeated (sampled with replacement). With ``max_pos_per_query`` only the
    first positives (seeded shuffle) of a query are kept, which bounds the cost on densely judged
    collections such as NFCorpus.

    Example:
        >>> import pandas as pd
        >>> q = pd.DataFrame({"qid": ["1"], "query": ["vitamin d"]})
        >>> qrels = pd.DataFrame({"qid": ["1"], "docno": ["a"], "label": [1]})
        >>> run = pd.DataFrame({"qid": ["1"] * 3, "docno": ["a", "b", "c"], "rank": [1, 2, 3]})
        >>> g = training_groups(q, qrels, run, NegativesConfig(n_neg=2, sampling="top"), seed=0)
        >>> g[["pos", "negs"]].values.tolist()
        [['a', ['b', 'c']]]
    """
    pool = hard_negatives(run, qrels, negatives.depth)
    rel = qrels[qrels["label"] > 0]
    pos_by_q: dict[str, list[str]] = {}
    for qid, docno in zip(rel["qid"].astype(str), rel["docno"].astype(str), strict=True):
        pos_by_q.setdefault(qid, []).append(docno)
    rng = random.Random(seed)
    rows = []
    for qid, text in zip(queries["qid"].astype(str), queries["query"].astype(str), strict=True):
        positives = sorted(pos_by_q.get(qid, []))
        negs_pool = pool.get(qid, [])
        if not positives or not negs_pool:
            continue
        if max_pos_per_query is not None and len(positives) > max_pos_per_query:
            rng.shuffle(positives)
            positives = sorted(positives[:max_pos_per_query])
        for pos in positives:
            if negatives.sampling == "top":
                negs = [negs_pool[i % len(negs_pool)] for i in range(negatives.n_neg)]
            elif len(negs_pool) >= negatives.n_neg:
                negs = rng.sample(negs_pool, negatives.n_neg)
            else:
                negs = [rng.choice(negs_pool) for _ in range(negatives.n_neg)]
            rows.append((qid, text, pos, negs))
    return pd.DataFrame(rows, columns=["qid", "query", "pos", "negs"])


def sampled_training_groups(ds: Any, queries: pd.DataFrame, cfg: Any) -> pd.DataFrame:
    """The training groups of ``queries`` (BM25 hard negatives per ``cfg.negatives``), at most ``cfg.max_groups``.

    ``cfg`` is a model config with ``negatives``, ``seed``, ``max_pos_per_query`` and optionally ``max_groups``
    (a seeded sample, original order kept). No group at all is a :class:`ModelError`.

    Example:
        >>> sampled_training_groups(ds, ds.queries.head(5), CrossEncoderConfig())   # doctest: +SKIP
    """
    run = bm25_run(ds, queries, cfg.negatives.depth)
    groups = training_groups(queries, ds.qrels, run, cfg.negatives, cfg.seed, cfg.max_pos_per_query)
    if groups.empty:
        raise ModelError("no training groups: the split has no query with both a relevant document and a BM25 "
                         "negative", where=ds.id)  # fmt: skip
    max_groups = getattr(cfg, "max_groups", None)
    if max_groups is not None and len(groups) > max_groups:
        groups = groups.sample(n=max_groups, random_state=cfg.seed).sort_index().reset_index(drop=True)
    return groups


def bm25_run(dataset: Any, queries: pd.DataFrame, depth: int) -> pd.DataFrame:
    """BM25 (irrobust's Lucene BM25, default parameters) top ``depth`` for ``queries`` of ``dataset``'s collection.

    Example:
        >>> import irrobust as ir
        >>> ds = ir.dataset("beir/scifact/train")                        # doctest: +SKIP
        >>> bm25_run(ds, ds.queries.head(2), 10).groupby("qid").size().max()  # doctest: +SKIP
        10
    """
    from irrobust.index.lucene import lucene_index
    from irrobust.rankers.lexical import BM25

    return BM25(lucene_index(dataset.collection), k=depth)(queries)


def resolve_dataset(dataset: Any) -> Any:
    """Accept a dataset ID or a dataset object; return the object.

    Example:
        >>> resolve_dataset("beir/scifact/train").collection   # doctest: +SKIP
        'beir/scifact'
    """
    if isinstance(dataset, str):
        from irrobust.data.dataset import dataset as load

        return load(dataset)
    return dataset


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch RNGs.

    Example:
        >>> seed_everything(0)
    """
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def batches(n: int, size: int, seed: int, epoch: int) -> Iterator[np.ndarray]:
    """Shuffled index batches for one epoch, seeded by (seed, epoch).

    Example:
        >>> [len(b) for b in batches(5, 2, seed=0, epoch=0)]
        [2, 2, 1]
    """
    order = np.random.default_rng([seed, epoch]).permutation(n)
    for s in range(0, n, size):
        yield order[s : s + size]


def linear_warmup_lr(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then linear decay to 0 at ``total``.

    Example:
        >>> [round(linear_warmup_lr(s, 10, 2), 2) for s in (0, 1, 2, 9)]
        [0.5, 1.0, 1.0, 0.12]
    """
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


# --------------------------------------------------------------------------------------------
# model directories
# --------------------------------------------------------------------------------------------


def model_dir(collection: str, name: str) -> Path:
    """``indexes_dir()/<collection>/models/<name>``.

    Example:
        >>> model_dir("beir/scifact", "ce-minilm").parts[-3:]
        ('scifact', 'models', 'ce-minilm')
    """
    if not name or "/" in name or name.startswith("."):
        raise ModelError(f"invalid model name {name!r}: use a plain folder name such as 'ce-minilm'")
    return paths.indexes_dir() / collection / "models" / name


def vocab_hash(tokenizer: Any) -> str:
    """SHA-256 of a tokenizer's vocabulary (token → id, sorted), independent of how it is stored.

    Example:
        >>> class T:
        ...     def get_vocab(self): return {"a": 0, "b": 1}
        >>> len(vocab_hash(T()))
        64
    """
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    return hashlib.sha256(json.dumps(vocab, ensure_ascii=False).encode("utf-8")).hexdigest()


def write_model_dir(final: Path, build: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """Build a model directory atomically: ``build(tmp)`` writes the files and returns the manifest body.

    The manifest gets ``files`` (sha256 of every file written) and ``manifest_version``, and is written
    last, so a directory with a manifest is complete.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "m"
        >>> m = write_model_dir(d, lambda t: ((t / "w.bin").write_bytes(b"1"), {"kind": "x"})[1])
        >>> sorted(m["files"])
        ['w.bin']
    """
    with atomic_dir(final) as tmp:
        manifest = dict(build(tmp))
        manifest["files"] = {
            p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file() and p.name != MANIFEST
        }
        manifest["manifest_version"] = MANIFEST_VERSION
        atomic_write_json(tmp / MANIFEST, manifest)
    return manifest


def check_model_dir(
    directory: Path,
    kind: str,
    *,
    dataset: str | None = None,
    tokenizer: str | None = None,
    vocab: str | None = None,
    verify_files: bool = True,
    hint: str = "",
) -> dict[str, Any]:
    """Validate a model directory against its manifest and the request; return the manifest.

    Raises :class:`ModelError` when the directory or manifest is missing, the model is of another
    ``kind``, was trained on another ``dataset`` or with another ``tokenizer``/``vocab`` hash, or a file
    is missing or its sha256 differs from the manifest (corruption). ``hint`` says how to (re)train.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()) / "m"
        >>> _ = write_model_dir(d, lambda t: ((t / "w.bin").write_bytes(b"1"), {"kind": "x", "dataset": "a"})[1])
        >>> check_model_dir(d, "x", dataset="a")["dataset"]
        'a'
    """
    where = str(directory)
    hint = f"; {hint}" if hint else ""
    if not directory.is_dir():
        raise ModelError(f"no trained {kind} model here{hint}", where=where)
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(
            f"the model directory has no manifest.json (incomplete or not built by irrobust){hint}", where=where
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"unreadable manifest.json ({exc}){hint}", where=where) from None
    if not isinstance(manifest, dict) or manifest.get("kind") != kind:
        found = manifest.get("kind") if isinstance(manifest, dict) else None
        raise ModelError(f"this is a {found!r} model, not a {kind!r} model{hint}", where=where)
    if dataset is not None and manifest.get("dataset") != dataset:
        raise ModelError(
            f"the model was trained on {manifest.get('dataset')!r}, but {dataset!r} was requested; "
            f"train one for {dataset!r} under another name or pass the matching dataset{hint}",
            where=where,
        )
    if tokenizer is not None and manifest.get("tokenizer", {}).get("name") != tokenizer:
        raise ModelError(
            f"the model uses tokenizer {manifest.get('tokenizer', {}).get('name')!r}, but {tokenizer!r} "
            f"was requested{hint}",
            where=where,
        )
    if vocab is not None and manifest.get("tokenizer", {}).get("vocab_sha256") != vocab:
        raise ModelError(
            f"the model's tokenizer vocabulary (sha256 {manifest.get('tokenizer', {}).get('vocab_sha256')}) "
            f"differs from the requested one ({vocab}){hint}",
            where=where,
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelError(f"manifest.json lists no files{hint}", where=where)
    for name, digest in files.items():
        f = directory / name
        if not f.is_file():
            raise ModelError(f"file {name!r} listed in the manifest is missing (corrupted model){hint}", where=where)
        if verify_files and sha256_file(f) != digest:
            raise ModelError(f"file {name!r} does not match its manifest checksum (corrupted model){hint}", where=where)
    return manifest


class Stopwatch:
    """Wall-clock timer.

    Example:
        >>> with Stopwatch() as sw:
        ...     pass
        >>> sw.seconds >= 0
        True
    """

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._t0


def config_dict(obj: Any) -> dict[str, Any]:
    """A dataclass config as a JSON-able dict (nested dataclasses included).

    Example:
        >>> config_dict(NegativesConfig())["n_neg"]
        3
    """
    out = json.loads(json.dumps(asdict(obj), default=str))
    if "disjoint_from" in out and out["disjoint_from"] is None:  # the spec (and names) of models trained before
        del out["disjoint_from"]
    return out


def reusable_model(final: Path, kind: str, ds: Any, training_spec: dict[str, Any], force: bool = False) -> bool:
    """True when ``final`` holds a valid model of ``kind`` trained on ``ds`` with ``training_spec`` (so no retraining).

    A stale, foreign or corrupted directory is not reusable: the caller retrains into it.

    Example:
        >>> reusable_model(Path("/nonexistent"), "ce", None, {})
        False
    """
    if force or not final.exists():
        return False
    try:
        manifest = check_model_dir(final, kind, dataset=ds.id)
    except ModelError:
        return False
    return manifest.get("config") == training_spec and manifest.get("docs_checksum") == ds.docs_checksum


def load_model_dir(dataset: Any, name: str, kind: str, tokenizer: str, vocab: str, hint: str,
                   verify: bool = True) -> Path:  # fmt: skip
    """The validated directory of the ``kind`` model trained on ``dataset`` (ID or object) under ``name``.

    Raises :class:`ModelError` (with ``hint``) if it is missing, was trained on another dataset or tokenizer,
    or is corrupted.

    Example:
        >>> load_model_dir("cranfield", "nope", "ce", "t", "v", "train it")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ModelError: ...
    """
    from irrobust.data.seed import collection_of

    dataset_id = dataset if isinstance(dataset, str) else dataset.id
    collection = collection_of(dataset_id) if isinstance(dataset, str) else dataset.collection
    path = model_dir(collection, name)
    check_model_dir(path, kind, dataset=dataset_id, tokenizer=tokenizer, vocab=vocab, verify_files=verify, hint=hint)
    return path
