"""The CertDR smoothed ranker g(q, d) = E_{d̃ ~ Π_d}[f(q, d̃)] with f bounded in [0, 1], estimated by Monte Carlo.

Reimplements §1.3 of CertDR (Wu et al., CIKM 2022; ``../shared/reference/papers.md``): every token of d
with a smoothing set T_w is replaced independently by a uniform draw from T_w, the bounded score of each
perturbed copy is computed, and ĝ is the mean over N draws. The list is re-ranked by ĝ.

Deviations from the paper, and why:

* **Any ranker.** The paper smooths σ(logit) of a BERT cross-encoder. Here f is any base ranker mapped to
  [0, 1] by a *fixed* monotone squashing (:class:`Squash`): the sigmoid the cross-encoder scorer already
  applies, ``(tanh + 1) / 2`` for KNRM, and for unbounded scores (BM25, QL, LTR, dense cosine) a logistic
  curve whose centre and scale are fitted once on *training* queries' candidate scores. Never a per-list
  normalisation: g must be a fixed function of (q, d) for the TV argument of the certificate to hold.
* **Seeded, prefix-consistent draws.** The draws of a document are generated in chunks of
  :data:`CHUNK` samples from ``numpy.random.default_rng([seed, blake2b(text), chunk])``: independent of
  list order and of the query, and the first n draws are the same whatever total is requested (what the
  adaptive sampler relies on). The paper uses Python's ``random`` with one global stream.
* **Batched scoring without materialising copies** (the bench's point). All copies of all documents of a
  query are described by matrices of token-string ids; scorers work on those:
  :class:`TextSampleScorer` materialises texts only to deduplicate them and scores each distinct text once
  in one length-sorted call; :class:`LuceneSampleScorer` (BM25/QL) analyses each distinct token string once
  and builds term frequencies by a sparse count × table product; :class:`KNRMSampleScorer` uses that
  KNRM's kernel sums are sums over document word pieces, so a copy's kernel features are a count × table
  product over distinct token strings (word-piece truncation at the model's length handled exactly).
  All three equal the base scorer on the materialised text up to float rounding (tested).
* A document without random tokens has one possible copy: it is scored once and its ĝ is exact
  (recorded as ``exact`` so certificates need no Monte Carlo margin for it).

Example:
    >>> sets = PerturbationSets({"big": ["large"]}, min_freq=0, graph="union")
    >>> class Len:
    ...     def score(self, query, texts): return np.array([len(t) for t in texts], float)
    >>> sm = SmoothedRanker(TextSampleScorer(Len(), Squash("logistic", 10.0, 2.0)), sets, n_samples=64, seed=0)
    >>> g = sm.score("q", ["a big dog", "a cat"]); bool(0 < g[1] < g[0] < 1)
    True
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from irrobust.certify.perturb import DocPositions, PerturbationSets, stable_key
from irrobust.errors import ConfigError, ModelError

#: draws are generated in chunks of this many samples (prefix consistency for adaptive sampling)
CHUNK = 32
SQUASH_KINDS = ("identity", "tanh", "logistic")


@dataclass(frozen=True)
class Squash:
    """A fixed monotone map of raw scores to [0, 1].

    ``identity`` (scores already in [0, 1], clipped), ``tanh`` (``(s + 1) / 2`` for scores in [-1, 1]),
    ``logistic`` (``1 / (1 + exp(-(s - center) / scale))``, fitted on training data by :meth:`fit`).

    Example:
        >>> Squash("logistic", 0.0, 1.0)(np.array([0.0]))
        array([0.5])
    """

    kind: str = "identity"
    center: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in SQUASH_KINDS:
            raise ConfigError(f"unknown squashing {self.kind!r}; choose one of {list(SQUASH_KINDS)}",
                              where="certify.squash")  # fmt: skip
        if not self.scale > 0:
            raise ConfigError(f"the squashing scale must be > 0, got {self.scale}", where="certify.squash")

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.asarray(raw, dtype=np.float64)
        if self.kind == "identity":
            return np.clip(raw, 0.0, 1.0)
        if self.kind == "tanh":
            return np.clip((raw + 1.0) / 2.0, 0.0, 1.0)
        return 1.0 / (1.0 + np.exp(-(raw - self.center) / self.scale))

    @classmethod
    def fit(cls, raw: np.ndarray) -> Squash:
        """A logistic squashing with the median of ``raw`` at 0.5 and its quartiles at 0.25 / 0.75.

        ``raw`` must come from *training* queries (fixed before any evaluation query is seen).

        Example:
            >>> s = Squash.fit(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
            >>> [round(float(x), 2) for x in s(np.array([2.0, 3.0, 4.0]))]
            [0.25, 0.5, 0.75]
        """
        raw = np.asarray(raw, dtype=np.float64)
        raw = raw[np.isfinite(raw)]
        if raw.size < 2:
            raise ModelError("need at least two finite training scores to fit the squashing", where="certify.squash")
        q25, q50, q75 = np.percentile(raw, [25, 50, 75])
        scale = (q75 - q25) / (2.0 * np.log(3.0))
        if not scale > 0:
            scale = float(np.std(raw)) or 1.0
        return cls("logistic", float(q50), float(scale))

    def as_dict(self) -> dict[str, Any]:
        """JSON form (recorded with the results).

        Example:
            >>> Squash("tanh").as_dict()["kind"]
            'tanh'
        """
        return {"kind": self.kind, "center": self.center, "scale": self.scale}


@dataclass
class PreparedDoc:
    """A document ready for sampling: its tokens as ids into a string pool, and each random position's options.

    Attributes:
        text: the document text.
        pos: its :class:`DocPositions`.
        base_sid: pool id of every original token (length L).
        options: ``(P, maxT)`` pool ids of every option of each random position (-1 padding).
        sizes: ``|T_w|`` of each random position.

    Example:
        >>> pool = StringPool()
        >>> prepare_doc(PerturbationSets({"big": ["large"]}, min_freq=0, graph="union"), "a big dog", pool).sizes.tolist()
        [2]
    """

    text: str
    pos: DocPositions
    base_sid: np.ndarray
    options: np.ndarray
    sizes: np.ndarray
    key: int = 0

    @property
    def exact(self) -> bool:
        """True when the document has no random token (a single possible copy)."""
        return len(self.sizes) == 0


@dataclass
class StringPool:
    """Interning of token strings: a string's id is stable for the pool's lifetime.

    Example:
        >>> p = StringPool(); p.id("a"), p.id("b"), p.id("a")
        (0, 1, 0)
    """

    strings: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)

    def id(self, s: str) -> int:
        """The id of ``s`` (added when new)."""
        i = self.ids.get(s)
        if i is None:
            i = self.ids[s] = len(self.strings)
            self.strings.append(s)
        return i


def prepare_doc(sets: PerturbationSets, text: str, pool: StringPool) -> PreparedDoc:
    """Tokenise ``text`` and intern its tokens and every substitution option in ``pool``.

    Example:
        >>> pool = StringPool()
        >>> d = prepare_doc(PerturbationSets({"big": ["large"]}, min_freq=0, graph="union"), "a Big dog", pool)
        >>> [pool.strings[i] for i in d.options[0]]
        ['Big', 'Large']
    """
    pos = sets.positions(text)
    base = np.array([pool.id(t) for t in pos.tokens], dtype=np.int64)
    sizes = np.array([len(sets.smoothing_ids(int(pos.word_ids[p]))) for p in pos.positions], dtype=np.int64)
    options = np.full((len(pos.positions), int(sizes.max()) if len(sizes) else 0), -1, dtype=np.int64)
    for k, p in enumerate(pos.positions):
        for j, w in enumerate(sets.smoothing_ids(int(pos.word_ids[p]))):
            options[k, j] = pool.id(sets.token_text(pos.tokens[p], int(w)))
    return PreparedDoc(text, pos, base, options, sizes, stable_key(text))


def draw_indices(doc: PreparedDoc, seed: int, start: int, stop: int) -> np.ndarray:
    """Option indices ``(stop - start, P)`` of samples ``start..stop-1`` (prefix-consistent chunks of :data:`CHUNK`).

    Example:
        >>> pool = StringPool(); d = prepare_doc(PerturbationSets({"big": ["large"]}, min_freq=0, graph="union"), "big", pool)
        >>> bool((draw_indices(d, 0, 0, 50)[10:20] == draw_indices(d, 0, 10, 20)).all())
        True
    """
    if stop <= start:
        return np.zeros((0, len(doc.sizes)), dtype=np.int64)
    parts = []
    for c in range(start // CHUNK, (stop - 1) // CHUNK + 1):
        u = np.random.default_rng([int(seed), doc.key, c]).random((CHUNK, len(doc.sizes)))
        parts.append((u * doc.sizes[None, :]).astype(np.int64))
    block = np.concatenate(parts, axis=0)
    off = start - (start // CHUNK) * CHUNK
    return block[off : off + (stop - start)]


def sample_strings(doc: PreparedDoc, idx: np.ndarray) -> np.ndarray:
    """Pool ids ``(n, L)`` of the tokens of the copies given by option indices ``idx`` (from :func:`draw_indices`).

    Example:
        >>> pool = StringPool(); d = prepare_doc(PerturbationSets({"big": ["large"]}, min_freq=0, graph="union"), "a big", pool)
        >>> sample_strings(d, np.array([[1]])).tolist()
        [[0, 2]]
    """
    out = np.broadcast_to(doc.base_sid, (idx.shape[0], len(doc.base_sid))).copy()
    if len(doc.sizes):
        out[:, doc.pos.positions] = doc.options[np.arange(len(doc.sizes))[None, :], idx]
    return out


class SampleScorer(Protocol):
    """Scores copies given as pool-id matrices; returns one bounded score array per document."""

    def score_samples(self, query: str, pool: StringPool, samples: Sequence[np.ndarray]) -> list[np.ndarray]: ...


class TextSampleScorer:
    """Any ``scorer.score(query, texts) -> scores`` (+ squashing): distinct copies are scored once, in one call.

    Example:
        >>> class Len:
        ...     def score(self, query, texts): return np.array([len(t) for t in texts], float)
        >>> pool = StringPool(); _ = pool.id("a"), pool.id("bb")
        >>> TextSampleScorer(Len(), Squash("logistic", 4.0))(
        ...     "q", pool, [np.array([[0, 1], [0, 1]])])[0].round(3).tolist()
        [0.5, 0.5]
    """

    def __init__(self, scorer: Any, squash: Squash) -> None:
        self.scorer, self.squash = scorer, squash

    def score_samples(self, query: str, pool: StringPool, samples: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Bounded scores of every copy (rows of each matrix)."""
        strings = np.array(pool.strings, dtype=object)
        uniq: dict[str, int] = {}
        where = []
        for mat in samples:
            keys = np.unique(mat, axis=0, return_inverse=True) if len(mat) else (mat, np.zeros(0, np.int64))
            rows, inv = keys
            ids = np.array([uniq.setdefault(" ".join(strings[r]), len(uniq)) for r in rows], dtype=np.int64)
            where.append(ids[np.asarray(inv).reshape(-1)])
        texts = list(uniq)
        raw = np.asarray(self.scorer.score(query, texts), dtype=np.float64) if texts else np.zeros(0)
        bounded = self.squash(raw)
        return [bounded[w] for w in where]

    __call__ = score_samples


class StageSampleScorer:
    """The fast smoothed path of a ranker (``stage.score_token_samples``, :mod:`irrobust.core.scoring`) + squashing.

    Example:
        >>> class Count:
        ...     def score_token_samples(self, query, strings, samples): return [m.shape[1] * np.ones(len(m)) for m in samples]
        >>> StageSampleScorer(Count(), Squash("logistic", 2.0))("q", StringPool(), [np.zeros((2, 2), int)])[0].tolist()
        [0.5, 0.5]
    """

    def __init__(self, stage: Any, squash: Squash) -> None:
        self.stage, self.squash = stage, squash

    def raw_samples(self, query: str, pool: StringPool, samples: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw (unsquashed) scores of every copy."""
        return [np.asarray(r, dtype=np.float64) for r in self.stage.score_token_samples(query, pool.strings, samples)]

    def score_samples(self, query: str, pool: StringPool, samples: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Bounded scores of every copy."""
        return [self.squash(r) for r in self.raw_samples(query, pool, samples)]

    __call__ = score_samples


class LuceneSampleScorer(StageSampleScorer):
    """BM25 / QL of copies computed from per-token analysis (exactly Lucene's score of the materialised text),
    via :meth:`irrobust.rankers.lucene_scoring.LuceneScorer.score_token_samples`.

    Example:
        >>> LuceneSampleScorer(lucene_scorer("beir/scifact"), Squash.fit(train_scores))   # doctest: +SKIP
    """

    def __init__(self, scorer: Any, squash: Squash, model: str | None = None, **params: Any) -> None:
        self.scorer, self.squash = scorer, squash
        self.params = scorer.resolve(model, params)

    def raw_samples(self, query: str, pool: StringPool, samples: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Raw (unsquashed) Lucene scores of every copy."""
        p = dict(self.params)
        return self.scorer.score_token_samples(query, pool.strings, samples, p.pop("model"), **p)


class KNRMSampleScorer(StageSampleScorer):
    """KNRM (:class:`irrobust.rankers.knrm.KNRMScorer`) of copies from per-token kernel tables; ``(tanh + 1) / 2``
    (:class:`irrobust.rankers.knrm_samples.KNRMTokenSampler`).

    Example:
        >>> KNRMSampleScorer(KNRMScorer(load_knrm("beir/scifact/train")))   # doctest: +SKIP
    """

    def __init__(self, scorer: Any) -> None:
        from irrobust.rankers.knrm_samples import KNRMTokenSampler

        self.scorer = scorer
        super().__init__(KNRMTokenSampler(scorer), Squash("tanh"))


class SmoothedRanker:
    """CertDR's smoothed ranker: ĝ(q, d) = mean bounded score of ``n_samples`` seeded random copies of d.

    ``score(query, texts)`` follows the attack target protocol (higher is better), so attacks can attack the
    smoothed ranker; :meth:`sample_scores` gives the per-copy scores for certificates.

    Args:
        scorer: a :class:`SampleScorer` (:class:`TextSampleScorer`, :class:`LuceneSampleScorer`,
            :class:`KNRMSampleScorer`).
        sets: the :class:`PerturbationSets`.
        n_samples: N, the Monte Carlo sample size of :meth:`score`.
        seed: the sampling seed.

    Example:
        >>> sm = SmoothedRanker(KNRMSampleScorer(knrm), sets, n_samples=100, seed=42)   # doctest: +SKIP
        >>> sm.score("vitamin d", ["text one", "text two"])                             # doctest: +SKIP
    """

    def __init__(self, scorer: SampleScorer, sets: PerturbationSets, n_samples: int = 100, seed: int = 0,
                 cache_docs: int = 20_000) -> None:  # fmt: skip
        if n_samples < 1:
            raise ConfigError(f"n_samples must be >= 1, got {n_samples}", where="certify.samples")
        self.scorer, self.sets, self.n_samples, self.seed = scorer, sets, int(n_samples), int(seed)
        self.pool = StringPool()
        self._docs: OrderedDict[str, PreparedDoc] = OrderedDict()
        self._cache_docs = int(cache_docs)

    def prepare(self, text: str) -> PreparedDoc:
        """The (cached) :class:`PreparedDoc` of a text.

        Example:
            >>> sm.prepare("a big dog").sizes   # doctest: +SKIP
        """
        hit = self._docs.get(text)
        if hit is None:
            hit = self._docs[text] = prepare_doc(self.sets, text, self.pool)
            while len(self._docs) > self._cache_docs:
                self._docs.popitem(last=False)
        else:
            self._docs.move_to_end(text)
        return hit

    def sample_scores(
        self, query: str, texts: Sequence[str], start: int = 0, stop: int | None = None
    ) -> list[np.ndarray]:
        """Bounded scores of copies ``start..stop-1`` of each text (one array per text; one value if exact).

        Example:
            >>> [s.shape for s in sm.sample_scores("q", ["a big dog"], 0, 10)]   # doctest: +SKIP
            [(10,)]
        """
        stop = self.n_samples if stop is None else int(stop)
        docs = [self.prepare(t) for t in texts]
        mats = []
        for d in docs:
            n = (1 if start == 0 else 0) if d.exact else stop - start
            idx = draw_indices(d, self.seed, start, start + n) if not d.exact else np.zeros((n, 0), np.int64)
            mats.append(sample_strings(d, idx))
        return [np.asarray(s, dtype=np.float64) for s in self.scorer.score_samples(query, self.pool, mats)]

    def score(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """ĝ of each text (mean over ``n_samples`` copies; exact for texts without random tokens).

        Example:
            >>> sm.score("q", ["a big dog"]).shape   # doctest: +SKIP
            (1,)
        """
        return np.array([s.mean() for s in self.sample_scores(query, list(texts))], dtype=np.float64)


__all__ = [
    "CHUNK",
    "KNRMSampleScorer",
    "LuceneSampleScorer",
    "StageSampleScorer",
    "PreparedDoc",
    "SampleScorer",
    "SmoothedRanker",
    "Squash",
    "StringPool",
    "TextSampleScorer",
    "draw_indices",
    "prepare_doc",
    "sample_strings",
]
