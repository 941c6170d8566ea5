"""Learning to rank: LambdaMART (LightGBM) over lexical and dense features of BM25 candidates.

LambdaMART (Burges, "From RankNet to LambdaRank to LambdaMART: An Overview", MSR-TR-2010-82) is
gradient-boosted regression trees trained on LambdaRank gradients, here LightGBM's
``LGBMRanker(objective="lambdarank")`` (Ke et al., NeurIPS 2017). Deviations from Burges (2010):
LightGBM's lambdarank truncates the pairwise lambdas at ``lambdarank_truncation_level`` (30 here, as
its default) and normalises them per query; leaves are fitted with LightGBM's Newton step.

Pipeline: BM25 (k1=0.9, b=0.4) retrieves the top ``k`` (100) candidates of every training query;
labels are the qrels' gains (unjudged = 0). Training queries are split (seeded) into a fitting part
and a held-out part (``valid_fraction``, 20 %) used for early stopping on nDCG@10. Queries of the
fitting part without any relevant candidate are dropped (they carry no LambdaRank gradient).

Features (:data:`FEATURES`), all computed from the *text* of a candidate when the results table has a
``text`` column (so perturbed documents are scored consistently), else from the index:

===========  ==================================================================================
bm25         Lucene BM25 (k1=0.9, b=0.4), recomputed exactly (:mod:`irrobust.rankers.lucene_scoring`)
ql           Lucene query likelihood, Dirichlet smoothing, mu=1000 (same module)
rm3          Lucene BM25 of the query's RM3-expanded query (Anserini RM3: fb_terms=10, fb_docs=10,
             original weight 0.5). Equal (within Anserini's 4-decimal rounding) to the score of an RM3
             retrieval for the documents it retrieves, and defined for every other candidate too
             (instead of "missing = 0"), including perturbed texts.
tfidf        Lucene ``ClassicSimilarity``-style TF-IDF: sum over query terms of
             ``boost * sqrt(tf) * idf**2 / sqrt(dl)`` with ``idf = 1 + ln((N + 1) / (df + 1))`` and
             ``dl`` Lucene's lossy 1-byte length (no query norm, no coord)
doc_len      number of analysed tokens of the document
query_len    number of analysed tokens of the query
coverage     share of the query's distinct analysed terms present in the document
idf_sum      sum of the BM25 idf of the query terms present in the document
idf_max      max of the BM25 idf of the query terms present in the document (0 if none)
dense        cosine of all-MiniLM-L6-v2 embeddings of query and document (stored corpus embeddings of
             :mod:`irrobust.index.dense` for unmodified documents, texts encoded otherwise)
===========  ==================================================================================

Models live in ``indexes_dir()/<collection>/models/<name>/`` (``model.txt`` + ``manifest.json`` with
the dataset, features, k, seed, LightGBM parameters, training time, validation nDCG@10 and the model's
sha256), written atomically and reused while the manifest matches the request; a mismatch or a
corrupted directory raises :class:`~irrobust.errors.ModelError`.

Example:
    >>> import irrobust as ir
    >>> model = train_ltr("beir/scifact/train")                                  # doctest: +SKIP
    >>> ds = ir.dataset("beir/scifact/test")                                     # doctest: +SKIP
    >>> pipe = ir.BM25(ir.lucene_index(ds), k=100) >> LTRReranker(model)         # doctest: +SKIP
    >>> ir.evaluate_run(pipe(ds.queries), ds.qrels, ["nDCG@10"])                 # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from irrobust.core.scoring import ScoringCapabilities, ScoringStage, score_by_transform
from irrobust.core.transformer import Transformer, add_ranks, check_columns
from irrobust.errors import IrrobustError, ModelError
from irrobust.index.models import check_model_dir, model_dir, resolve_dataset, write_model_dir
from irrobust.rankers.lucene_scoring import (
    LENGTH_TABLE,
    LuceneStats,
    bm25_idf,
    bm25_scores,
    encode_lengths,
    ql_scores,
    shared_stats,
)
from irrobust.util.compute import resolve_device

KIND = "ltr-lambdamart"
MODEL_FILE = "model.txt"
#: all features, in the order they are fed to the model
FEATURES: tuple[str, ...] = (
    "bm25", "ql", "rm3", "tfidf", "doc_len", "query_len", "coverage", "idf_sum", "idf_max", "dense",
)  # fmt: skip
LEXICAL_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES if f != "dense")


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LTRConfig:
    """Everything that determines a trained LTR model (recorded in its manifest).

    Example:
        >>> LTRConfig(dataset="beir/scifact/train").k
        100
    """

    dataset: str
    features: tuple[str, ...] = FEATURES
    k: int = 100
    seed: int = 42
    n_estimators: int = 500
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 50
    early_stopping_rounds: int = 50
    valid_fraction: float = 0.2
    max_queries: int | None = None
    #: train only on queries whose relevant documents are not relevant for this dataset's queries (see
    #: :func:`irrobust.rankers.training.training_queries`); None: every training query
    disjoint_from: str | None = None
    num_threads: int = 1
    bm25: tuple[float, float] = (0.9, 0.4)
    mu: float = 1000.0
    rm3: tuple[int, int, float] = (10, 10, 0.5)

    def __post_init__(self) -> None:
        feats = tuple(self.features)
        object.__setattr__(self, "features", feats)
        unknown = [f for f in feats if f not in FEATURES]
        if unknown or not feats:
            raise ModelError(f"unknown LTR feature(s) {unknown}; choose from {list(FEATURES)}")
        if len(set(feats)) != len(feats):
            raise ModelError(f"duplicate LTR features in {list(feats)}")
        if self.k < 1 or self.n_estimators < 1 or not 0 < self.learning_rate <= 1:
            raise ModelError("LTR needs k >= 1, n_estimators >= 1 and 0 < learning_rate <= 1")
        if not 0 < self.valid_fraction < 1:
            raise ModelError(f"valid_fraction must be in (0, 1), got {self.valid_fraction}")
        if self.max_queries is not None and self.max_queries < 2:
            raise ModelError(f"max_queries must be >= 2, got {self.max_queries}")

    def lgbm_params(self) -> dict[str, Any]:
        """LightGBM parameters (seeded and deterministic).

        Example:
            >>> LTRConfig(dataset="x").lgbm_params()["objective"]
            'lambdarank'
        """
        return {
            "objective": "lambdarank",
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "lambdarank_truncation_level": 30,
            "random_state": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": self.num_threads,
            "verbose": -1,
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (what the manifest records and compares).

        Example:
            >>> LTRConfig(dataset="x", features=("bm25",)).as_dict()["features"]
            ['bm25']
        """
        out = json.loads(json.dumps(asdict(self)))
        if out.get("disjoint_from") is None:  # the digest (model name) of models trained before the option
            out.pop("disjoint_from", None)
        return out

    def digest(self) -> str:
        """Short hash of the configuration (default model names use it).

        Example:
            >>> len(LTRConfig(dataset="x").digest())
            10
        """
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:10]


# --------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------


@dataclass
class _Doc:
    counts: Counter
    length: int


@dataclass
class FeatureExtractor:
    """Computes the LTR features of ``(query, document)`` pairs of one collection.

    ``index`` is the collection's :class:`~irrobust.index.lucene.LuceneIndex`; ``collection`` its name
    (for the dense embeddings). Documents come from a ``text`` column when given, else from the index's
    document vectors. ``device`` (``auto | cpu | cuda[:n]``) is where the MiniLM of the ``dense`` feature encodes
    queries and changed documents (see :class:`~irrobust.index.dense.DenseEncoder`; exact fp32 on the CPU).

    Example:
        >>> fx = FeatureExtractor(ir.lucene_index("cranfield"), "cranfield", ("bm25", "coverage"))   # doctest: +SKIP
        >>> fx.transform(results).shape                                                             # doctest: +SKIP
        (100, 2)
    """

    index: Any
    collection: str
    features: tuple[str, ...] = FEATURES
    bm25: tuple[float, float] = (0.9, 0.4)
    mu: float = 1000.0
    rm3: tuple[int, int, float] = (10, 10, 0.5)
    device: str = "auto"
    _stats: LuceneStats | None = field(default=None, repr=False)
    _rm3_searcher: Any = field(default=None, repr=False)
    _rm3_cache: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)
    _dense: Any = field(default=None, repr=False)
    _emb_cache: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def stats(self) -> LuceneStats:
        """The collection's :class:`LuceneStats` (created on first use).

        Example:
            >>> fx.stats.N   # doctest: +SKIP
            1398
        """
        if self._stats is None:
            self._stats = shared_stats(self.index)
        return self._stats

    def _feedback(self, query: str) -> dict[str, float]:
        hit = self._rm3_cache.get(query)
        if hit is None:
            if self._rm3_searcher is None:
                s = self.index.searcher()
                s.set_bm25(float(self.bm25[0]), float(self.bm25[1]))
                s.set_rm3(int(self.rm3[0]), int(self.rm3[1]), float(self.rm3[2]))
                self._rm3_searcher = s
            hit = dict(self._rm3_searcher.get_feedback_terms(query) or {})
            self._rm3_cache[query] = hit
        return hit

    def _docs(self, table: pd.DataFrame) -> list[_Doc]:
        if "text" in table.columns:
            toks = self.stats.analyze_many(table["text"].astype(str).tolist())
            return [_Doc(Counter(t), len(t)) for t in toks]
        out = []
        for d in table["docno"].astype(str):
            vec, length = self.stats.doc_vector(d)
            out.append(_Doc(Counter(vec), length))
        return out

    def transform(self, table: pd.DataFrame) -> np.ndarray:
        """Feature matrix (``len(table) × len(features)``, float64) for a results table.

        Example:
            >>> fx.transform(bm25_results).shape   # doctest: +SKIP
            (100, 10)
        """
        check_columns(table, ("qid", "query", "docno"), "LTR features")
        n = len(table)
        out = np.zeros((n, len(self.features)), dtype=np.float64)
        if n == 0:
            return out
        col = {f: i for i, f in enumerate(self.features)}
        docs = self._docs(table)
        positions = pd.Series(np.arange(n)).groupby(table["qid"].astype(str).to_numpy(), sort=False)
        queries = table["query"].astype(str).to_numpy()
        k1, b = self.bm25
        for _, pos in positions:
            rows = pos.to_numpy()
            query = str(queries[rows[0]])
            qtoks = self.stats.analyze(query)
            qcounts = Counter(qtoks)
            terms = list(qcounts)
            boosts = np.array([qcounts[t] for t in terms], dtype=np.float32)
            st = [self.stats.term_stats(t) for t in terms]
            df = np.array([s[0] for s in st], dtype=np.int64)
            ttf = np.array([s[1] for s in st], dtype=np.int64)
            group = [docs[i] for i in rows]
            tf = np.array([[d.counts.get(t, 0) for t in terms] for d in group], dtype=np.int64).reshape(len(rows), -1)
            lengths = np.array([d.length for d in group], dtype=np.int64)
            norms = encode_lengths(lengths)
            idf = bm25_idf(df, self.stats.N).astype(np.float64) * (df > 0)
            present = (tf > 0) & (df > 0)[None, :]
            if "bm25" in col:
                out[rows, col["bm25"]] = bm25_scores(tf, norms, df, boosts, self.stats, k1=k1, b=b) if terms else 0.0
            if "ql" in col:
                out[rows, col["ql"]] = ql_scores(tf, norms, ttf, boosts, self.stats, mu=self.mu) if terms else 0.0
            if "tfidf" in col and terms:
                cidf = 1.0 + np.log((self.stats.N + 1.0) / (df + 1.0))
                dl = LENGTH_TABLE[norms].astype(np.float64)
                per = boosts.astype(np.float64) * np.sqrt(tf) * cidf**2 / np.sqrt(np.maximum(dl, 1.0))[:, None]
                out[rows, col["tfidf"]] = (per * present).sum(axis=1)
            if "doc_len" in col:
                out[rows, col["doc_len"]] = lengths
            if "query_len" in col:
                out[rows, col["query_len"]] = len(qtoks)
            if "coverage" in col and terms:
                out[rows, col["coverage"]] = (tf > 0).sum(axis=1) / len(terms)
            if "idf_sum" in col and terms:
                out[rows, col["idf_sum"]] = (idf[None, :] * present).sum(axis=1)
            if "idf_max" in col and terms:
                out[rows, col["idf_max"]] = (idf[None, :] * present).max(axis=1)
            if "rm3" in col:
                out[rows, col["rm3"]] = self._rm3_scores(query, group, norms)
        if "dense" in col:
            out[:, col["dense"]] = self._dense_scores(table)
        return out

    def _rm3_scores(self, query: str, group: list[_Doc], norms: np.ndarray) -> np.ndarray:
        fb = self._feedback(query)
        if not fb:
            return np.zeros(len(group))
        terms = list(fb)
        boosts = np.array([fb[t] for t in terms], dtype=np.float32)
        df = np.array([self.stats.df(t) for t in terms], dtype=np.int64)
        tf = np.array([[d.counts.get(t, 0) for t in terms] for d in group], dtype=np.int64)
        k1, b = self.bm25
        return bm25_scores(tf, norms, df, boosts, self.stats, k1=k1, b=b).astype(np.float64)

    # -- dense ---------------------------------------------------------------------------------

    def _dense_index(self) -> Any:
        if self._dense is None:
            from irrobust.index.dense import DenseEncoder, dense_index

            self._dense = dense_index(self.collection, progress=False, encoder=DenseEncoder(device=self.device))
        return self._dense

    def _dense_scores(self, table: pd.DataFrame) -> np.ndarray:
        from irrobust.index.dense import encode

        queries = table["query"].astype(str).tolist()
        uq = list(dict.fromkeys(queries))
        need = [q for q in uq if ("q", q) not in self._emb_cache]
        if need:
            for q, v in zip(need, encode(need, batch_size=64, device=self.device), strict=True):
                self._emb_cache[("q", q)] = v
        qv = np.stack([self._emb_cache[("q", q)] for q in queries])
        docnos = table["docno"].astype(str).tolist()
        if "text" not in table.columns:
            dv = self._dense_index().vectors(docnos)
        else:
            dv = self._text_vectors(docnos, table["text"].astype(str).tolist())
        return np.einsum("ij,ij->i", qv.astype(np.float64), dv.astype(np.float64))

    def _text_vectors(self, docnos: list[str], texts: list[str]) -> np.ndarray:
        """Stored embeddings for unmodified documents, fresh (cached) encodings for other texts."""
        from irrobust.index.dense import encode

        dense = self._dense_index()
        known = [d for d in dict.fromkeys(docnos) if d in dense.row]
        original: dict[str, str] = {}
        if known:
            store = _docstore(self.collection, resolve_dataset)
            original = dict(zip(known, store.texts(known), strict=True))
        keys = [hashlib.sha1(t.encode("utf-8")).hexdigest() for t in texts]
        need: dict[str, str] = {}
        for d, t, key in zip(docnos, texts, keys, strict=True):
            if original.get(d) == t or ("d", key) in self._emb_cache:
                continue
            need[key] = t
        if need:
            for key, v in zip(need, encode(list(need.values()), batch_size=32, device=self.device), strict=True):
                self._emb_cache[("d", key)] = v
        vecs = [
            dense.vectors([d])[0] if original.get(d) == t else self._emb_cache[("d", key)]
            for d, t, key in zip(docnos, texts, keys, strict=True)
        ]
        return np.stack(vecs)


def _docstore(collection: str, resolve: Any) -> Any:
    from irrobust.data.dataset import KNOWN_DATASETS

    for known in KNOWN_DATASETS:
        if known == collection or known.startswith(collection + "/"):
            return resolve(known).docs
    return resolve(collection).docs


# --------------------------------------------------------------------------------------------
# training and the model directory
# --------------------------------------------------------------------------------------------


def labelled_candidates(results: pd.DataFrame, qrels: pd.DataFrame) -> np.ndarray:
    """Integer gains of candidates from qrels (unjudged and negative labels = 0).

    Example:
        >>> import pandas as pd
        >>> r = pd.DataFrame({"qid": ["1", "1"], "docno": ["a", "b"]})
        >>> labelled_candidates(r, pd.DataFrame({"qid": ["1"], "docno": ["b"], "label": [2]})).tolist()
        [0, 2]
    """
    q = qrels.assign(qid=qrels["qid"].astype(str), docno=qrels["docno"].astype(str))
    key = dict(zip(zip(q["qid"], q["docno"], strict=True), q["label"].astype(int), strict=True))
    labels = [
        key.get((qi, d), 0) for qi, d in zip(results["qid"].astype(str), results["docno"].astype(str), strict=True)
    ]
    return np.clip(np.asarray(labels, dtype=np.int64), 0, None)


def split_queries(qids: Sequence[str], valid_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split of query ids into (fit, held-out) parts; both non-empty for 2+ queries.

    Example:
        >>> fit, valid = split_queries([str(i) for i in range(10)], 0.2, seed=0)
        >>> len(fit), len(valid)
        (8, 2)
    """
    ids = sorted(dict.fromkeys(str(q) for q in qids))
    if len(ids) < 2:
        raise ModelError(f"LTR training needs at least 2 queries with candidates, got {len(ids)}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    n_valid = min(len(ids) - 1, max(1, int(round(valid_fraction * len(ids)))))
    valid = sorted(ids[i] for i in order[:n_valid])
    fit = sorted(ids[i] for i in order[n_valid:])
    return fit, valid


def _groups(qids: np.ndarray) -> np.ndarray:
    # rows are sorted by qid: group sizes in order of appearance
    _, idx, counts = np.unique(qids, return_index=True, return_counts=True)
    return counts[np.argsort(idx)]


@dataclass
class LTRModel:
    """A trained LambdaMART model with its manifest and feature extractor.

    Example:
        >>> m = load_ltr(model_dir("beir/scifact", "ltr"))   # doctest: +SKIP
        >>> m.features                                      # doctest: +SKIP
        ('bm25', 'ql', ...)
    """

    booster: Any
    manifest: dict[str, Any]
    directory: Path

    @property
    def features(self) -> tuple[str, ...]:
        """Feature names, in model input order.

        Example:
            >>> m.features[0]   # doctest: +SKIP
            'bm25'
        """
        return tuple(self.manifest["config"]["features"])

    @property
    def config(self) -> LTRConfig:
        """The configuration the model was trained with.

        Example:
            >>> m.config.k   # doctest: +SKIP
            100
        """
        c = dict(self.manifest["config"])
        for key in ("features", "bm25", "rm3"):
            c[key] = tuple(c[key])
        return LTRConfig(**c)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Model scores of a feature matrix (float64).

        Example:
            >>> m.predict(np.zeros((1, len(m.features)))).shape   # doctest: +SKIP
            (1,)
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ModelError(
                f"expected a (n, {len(self.features)}) feature matrix, got {X.shape}", where=str(self.directory)
            )
        if len(X) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(X, num_threads=1), dtype=np.float64)


def load_ltr(directory: str | Path, config: LTRConfig | None = None) -> LTRModel:
    """Load and validate a model directory; with ``config``, also check it was trained with that configuration.

    Raises :class:`ModelError` for a missing, foreign, mismatched or corrupted directory.

    Example:
        >>> load_ltr(model_dir("beir/scifact", "ltr"))   # doctest: +SKIP
    """
    import lightgbm as lgb

    directory = Path(directory)
    hint = "retrain it with irrobust.rankers.ltr.train_ltr(..., retrain=True) or pick another model name"
    manifest = check_model_dir(directory, KIND, verify_files=True, hint=hint)
    if manifest.get("model_sha256") != manifest.get("files", {}).get(MODEL_FILE):
        raise ModelError(f"manifest model_sha256 disagrees with its file list (corrupted model); {hint}",
                         where=str(directory))  # fmt: skip
    if not isinstance(manifest.get("config"), dict):
        raise ModelError(f"manifest has no training configuration; {hint}", where=str(directory))
    if config is not None:
        want = config.as_dict()
        have = manifest["config"]
        diff = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        if diff:
            details = ", ".join(f"{k}: trained {have.get(k)!r} vs requested {want.get(k)!r}" for k in diff)
            raise ModelError(f"this model was trained with a different configuration ({details}); {hint}",
                             where=str(directory))  # fmt: skip
    try:
        booster = lgb.Booster(model_str=(directory / MODEL_FILE).read_text())
    except (lgb.basic.LightGBMError, OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot load the LightGBM model ({exc}); {hint}", where=str(directory)) from None
    if booster.num_feature() != len(manifest["config"]["features"]):
        raise ModelError(f"the model has {booster.num_feature()} features but its manifest lists "
                         f"{len(manifest['config']['features'])}; {hint}", where=str(directory))  # fmt: skip
    return LTRModel(booster, manifest, directory)


def train_ltr(dataset: Any, name: str | None = None, retrain: bool = False, progress: bool = False,
              fit: bool = True, device: str = "auto", **config: Any) -> LTRModel:  # fmt: skip
    """Train (or reuse) a LambdaMART model on a dataset's train queries and qrels.

    ``dataset`` is a dataset ID or object with queries and qrels (e.g. ``"beir/scifact/train"``);
    ``config`` holds :class:`LTRConfig` fields (``features``, ``k``, ``seed``, ``n_estimators``, ...).
    The model goes to ``indexes_dir()/<collection>/models/<name>`` (default name ``ltr-<config hash>``).
    An existing valid directory trained with the same configuration is reused; a different
    configuration under the same name, or a corrupted directory, raises :class:`ModelError`
    (``retrain=True`` overwrites it). With ``fit=False`` a missing model is a :class:`ModelError` instead
    of being trained. ``device`` is where the ``dense`` feature's MiniLM encodes the training queries (not part of
    the configuration: the model's identity does not depend on it).

    Example:
        >>> m = train_ltr("beir/scifact/train", features=("bm25", "ql"), n_estimators=50)   # doctest: +SKIP
        >>> m.manifest["valid_ndcg@10"] > 0                                               # doctest: +SKIP
        True
    """
    ds = resolve_dataset(dataset)
    cfg = LTRConfig(dataset=ds.id, **config)
    name = name or f"ltr-{cfg.digest()}"
    directory = model_dir(ds.collection, name)
    if directory.exists() and not retrain:
        return load_ltr(directory, cfg)
    if not fit:
        raise ModelError(f"no trained LTR model {name!r} for {ds.id} and training is disabled (fit: false); "
                         "train it first or allow fitting", where=str(directory))  # fmt: skip
    return _train(ds, cfg, directory, progress, device)


def _train(ds: Any, cfg: LTRConfig, directory: Path, progress: bool, device: str = "auto") -> LTRModel:
    import lightgbm as lgb

    from irrobust.evaluate.measures import evaluate_run
    from irrobust.index.lucene import lucene_index
    from irrobust.rankers.lexical import BM25
    from irrobust.rankers.training import training_queries

    t0 = time.perf_counter()
    queries = training_queries(ds, cfg)
    qrels = ds.qrels
    index = lucene_index(ds, progress=progress)
    bm25 = BM25(index, k=cfg.k, k1=cfg.bm25[0], b=cfg.bm25[1])
    bm25.progress = progress
    cands = bm25(queries)
    if cands.empty:
        raise ModelError("BM25 retrieved no candidates for the training queries", where=ds.id)
    cands = cands.sort_values(["qid", "rank"], kind="mergesort").reset_index(drop=True)
    fx = FeatureExtractor(index, ds.collection, cfg.features, cfg.bm25, cfg.mu, cfg.rm3,
                          resolve_device(device, where="ltr.device"))  # fmt: skip
    X = fx.transform(cands)
    y = labelled_candidates(cands, qrels)
    qids = cands["qid"].astype(str).to_numpy()
    fit_q, valid_q = split_queries(np.unique(qids).tolist(), cfg.valid_fraction, cfg.seed)
    has_rel = set(qids[y > 0])
    fit_mask = np.isin(qids, [q for q in fit_q if q in has_rel])
    valid_mask = np.isin(qids, [q for q in valid_q if q in has_rel])
    if not fit_mask.any() or not valid_mask.any():
        raise ModelError("too few training queries with a relevant BM25 candidate to fit and validate "
                         f"(fit {len(set(qids[fit_mask]))}, held-out {len(set(qids[valid_mask]))})", where=ds.id)  # fmt: skip
    params = cfg.lgbm_params()
    ranker = lgb.LGBMRanker(**params)
    t_fit = time.perf_counter()
    ranker.fit(
        X[fit_mask], y[fit_mask], group=_groups(qids[fit_mask]),
        eval_X=(X[valid_mask],), eval_y=(y[valid_mask],), eval_group=[_groups(qids[valid_mask])],
        eval_at=[10], feature_name=list(cfg.features),
        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, first_metric_only=True, verbose=False)],
    )  # fmt: skip
    fit_seconds = time.perf_counter() - t_fit
    booster = ranker.booster_
    best = int(ranker.best_iteration_ or booster.current_iteration())
    model_str = booster.model_to_string(num_iteration=best)
    final = lgb.Booster(model_str=model_str)
    # held-out nDCG@10 of the reranked candidates, over *all* held-out queries (irrobust's evaluator)
    vmask = np.isin(qids, valid_q)
    vrun = add_ranks(cands.loc[vmask, ["qid", "query", "docno"]].assign(score=final.predict(X[vmask], num_threads=1)))
    vbm25 = cands.loc[vmask, ["qid", "query", "docno", "score", "rank"]]
    vqrels = qrels[qrels["qid"].astype(str).isin(valid_q)]
    valid_ndcg = evaluate_run(vrun, vqrels, ["nDCG@10"])["nDCG@10"]
    valid_bm25 = evaluate_run(vbm25, vqrels, ["nDCG@10"])["nDCG@10"]
    importance = dict(zip(cfg.features, final.feature_importance("gain").tolist(), strict=True))
    total = time.perf_counter() - t0

    def build(tmp: Path) -> dict[str, Any]:
        (tmp / MODEL_FILE).write_text(model_str)
        from irrobust.util.io import sha256_file

        return {
            "kind": KIND,
            "dataset": ds.id,
            "collection": ds.collection,
            "docs_checksum": ds.docs_checksum,
            "config": cfg.as_dict(),
            "features": list(cfg.features),
            "k": cfg.k,
            "seed": cfg.seed,
            "lightgbm_params": params,
            "lightgbm_version": lgb.__version__,
            "best_iteration": best,
            "n_train_queries": int(len(set(qids[fit_mask]))),
            "n_valid_queries": len(valid_q),
            "n_train_rows": int(fit_mask.sum()),
            "valid_ndcg@10": round(float(valid_ndcg), 6),
            "valid_bm25_ndcg@10": round(float(valid_bm25), 6),
            "feature_importance_gain": {k: round(float(v), 4) for k, v in importance.items()},
            "fit_seconds": round(fit_seconds, 3),
            "training_seconds": round(total, 3),
            "model_sha256": sha256_file(tmp / MODEL_FILE),
        }

    write_model_dir(directory, build)
    return load_ltr(directory, cfg)


# --------------------------------------------------------------------------------------------
# the reranking stage
# --------------------------------------------------------------------------------------------


class LTRReranker(ScoringStage, Transformer):
    """Rerank results (``qid, query, docno, score, rank`` [+ ``text``]) with a LambdaMART model.

    With a ``text`` column, text features (all lexical ones and the dense cosine) are computed from
    that text, so attacked documents are scored as they read; otherwise from the index. The output
    keeps the input rows and columns (``text`` included); ``score`` becomes the model score and ranks
    are recomputed.

    Args:
        model: an :class:`LTRModel` or a model directory.
        index: the Lucene index of the collection the results come from (default: the model's
            training collection).
        device: where the ``dense`` feature's MiniLM runs: ``auto`` (CUDA when available), ``cpu``, ``cuda[:n]``.

    Example:
        >>> ltr = LTRReranker(train_ltr("beir/scifact/train"))              # doctest: +SKIP
        >>> (ir.BM25(ir.lucene_index("beir/scifact"), k=100) >> ltr)(["vitamin d"]).head(3)   # doctest: +SKIP
    """

    def __init__(self, model: LTRModel | str | Path, index: Any = None, device: str = "auto") -> None:
        self.model = model if isinstance(model, LTRModel) else load_ltr(model)
        self.device = resolve_device(device, where="ltr.device")
        if index is None:
            from irrobust.index.lucene import lucene_index

            index = lucene_index(self.model.manifest["collection"], progress=False)
        cfg = self.model.config
        self.index = index
        self.extractor = FeatureExtractor(index, index.collection, cfg.features, cfg.bm25, cfg.mu, cfg.rm3,
                                          self.device)  # fmt: skip
        self.name = "LTR(LambdaMART)"

    def transform(self, results: pd.DataFrame) -> pd.DataFrame:
        check_columns(results, ("qid", "query", "docno"), repr(self))
        if results.empty:
            return add_ranks(results.assign(score=pd.Series(dtype=float)))
        X = self.extractor.transform(results)
        out = results.copy()
        out["score"] = self.model.predict(X)
        return add_ranks(out)

    capabilities = ScoringCapabilities(kind="LTRReranker")

    def score_texts(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """LambdaMART scores (float64) of ``texts`` for ``query``, every text feature computed from the text itself.

        Example:
            >>> ltr.score_texts("vitamin d", ["vitamin d deficiency", "unrelated"])   # doctest: +SKIP
        """
        return score_by_transform(self, query, texts)

    def spec(self) -> dict[str, Any]:
        return {
            "type": "LTRReranker",
            "model": self.model.directory.name,
            "model_sha256": self.model.manifest.get("model_sha256"),
            "dataset": self.model.manifest.get("dataset"),
            "features": list(self.model.features),
            "index": getattr(self.index, "collection", None),
            # CPU specs (and the run checkpoints keyed by them) stay as they were; the dense feature on CUDA may differ
            **({"device": self.device} if self.device.startswith("cuda") and "dense" in self.model.features else {}),
        }


def features_frame(model_or_features: LTRModel | Sequence[str], X: np.ndarray) -> pd.DataFrame:
    """A feature matrix as a DataFrame with named columns (for inspection).

    Example:
        >>> features_frame(["bm25", "ql"], np.zeros((1, 2))).columns.tolist()
        ['bm25', 'ql']
    """
    names = model_or_features.features if isinstance(model_or_features, LTRModel) else list(model_or_features)
    if X.shape[1] != len(names):
        raise IrrobustError(f"{X.shape[1]} columns but {len(names)} feature names")
    return pd.DataFrame(X, columns=list(names))


__all__ = [
    "FEATURES",
    "FeatureExtractor",
    "LTRConfig",
    "LTRModel",
    "LTRReranker",
    "features_frame",
    "labelled_candidates",
    "load_ltr",
    "split_queries",
    "train_ltr",
]
