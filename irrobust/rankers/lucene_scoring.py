"""Lucene's lexical scores (BM25, Dirichlet query likelihood) recomputed in Python, for *any* text.

Attacks score perturbed documents that are not in the index, and exact certificates need the score
a document *would* get from Lucene. This module recomputes, with the index's collection statistics,
the score that pyserini 0.25 (Anserini 0.25, Lucene 9.9) gives a (query, document) pair, so that a
document's raw text scored here equals the score Lucene gives the indexed document.

What is reproduced (read from the Lucene 9.9 / Anserini 0.25 bytecode in pyserini's fatjar):

* **Query**: Anserini's ``BagOfWordsQueryGenerator`` analyses the query and adds one
  ``BoostQuery(TermQuery(t), count(t))`` SHOULD clause per distinct analysed term, so a term that
  occurs twice in the analysed query is counted twice (boost 2). Terms absent from the index score 0.
* **Document length**: the norm is ``SmallFloat.intToByte4(#tokens after analysis)`` (stopwords do
  not count; the English analyzer produces no position overlaps), and scoring uses the *lossy*
  decoded length ``byte4ToInt(norm)`` (exact up to 24 tokens, then 4 significant bits).
  :func:`int_to_byte4` / :func:`byte4_to_int` reimplement ``org.apache.lucene.util.SmallFloat``.
* **BM25** (``BM25Similarity``, Lucene >= 8; Robertson & Zaragoza 2009 without the ``(k1+1)`` factor),
  in float32 exactly as Lucene orders the operations::

      idf    = (float) ln(1 + (N - df + 0.5) / (df + 0.5))            N = docCount (double math)
      avgdl  = (float) (sumTotalTermFreq / (double) N)
      cache  = 1f / (k1 * ((1 - b) + b * byte4ToInt(norm) / avgdl))    (all float32)
      weight = boost * idf                                             (float32)
      score  = weight - weight / (1f + tf * cache)                     (float32)

* **Query likelihood** (``LMDirichletSimilarity``; Zhai & Lafferty, SIGIR 2001), in double, per term::

      p_C   = (ttf + 1) / (sumTotalTermFreq + 1)                       (DefaultCollectionModel)
      score = boost * (ln(1 + tf / (mu * p_C)) + ln(mu / (dl + mu)))   dl = byte4ToInt(norm)
      score = max(score, 0)                                            (Lucene clamps negatives to 0)

  cast to float32. Only documents containing a query term match, so a text without any query term
  scores 0 (as a non-retrieved document).
* **Sum over terms**: Lucene's disjunction scorers add the clause scores in double and cast to float.

Deviation: pyserini's ``LuceneSearcher.search`` additionally passes scores through Anserini's
``ScoreTiesAdjusterReranker``, which rounds them to 4 decimals and subtracts ``1e-6`` per tied
predecessor. Scores here are the *raw* Lucene scores (what ``IndexReader.compute_query_document_score``
returns); they match searcher scores within ~5e-5 (+1e-6 per tie).

Example:
    >>> import irrobust as ir
    >>> scorer = LuceneScorer(ir.lucene_index("cranfield"))                        # doctest: +SKIP
    >>> scorer.score_texts("boundary layer", ["the boundary layer of a plate"])    # doctest: +SKIP
    array([4.63...], dtype=float32)
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from irrobust.errors import IrrobustError, ModelError

#: the indexed field (Anserini's ``IndexArgs.CONTENTS``)
FIELD = "contents"
MODELS = ("bm25", "ql")

# --------------------------------------------------------------------------------------------
# SmallFloat (org.apache.lucene.util.SmallFloat, Lucene 9): 1-byte length norms
# --------------------------------------------------------------------------------------------


def _long_to_int4(i: int) -> int:
    """Float-like encoding of a non-negative integer keeping 4 significant bits (``SmallFloat.longToInt4``)."""
    if i < 0:
        raise ValueError(f"only non-negative values can be encoded, got {i}")
    num_bits = i.bit_length()
    if num_bits < 4:  # subnormal
        return i
    shift = num_bits - 4
    encoded = (i >> shift) & 0x07  # the most significant bit is implicit
    return encoded | ((shift + 1) << 3)  # shift + 1: 0 is reserved for subnormal values


def _int4_to_long(i: int) -> int:
    """Inverse of :func:`_long_to_int4` (``SmallFloat.int4ToLong``)."""
    bits = i & 0x07
    shift = (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


_MAX_INT4 = _long_to_int4(2**31 - 1)  # 231
#: byte values below this encode lengths exactly (24 in Lucene 9)
NUM_FREE_VALUES = 255 - _MAX_INT4


def int_to_byte4(i: int) -> int:
    """Lucene's 1-byte length norm of ``i`` tokens, as an unsigned byte 0..255 (``SmallFloat.intToByte4``).

    Lengths below 24 are stored exactly; above, the excess over 24 keeps 4 significant bits.
    Monotone (non-decreasing) in ``i``.

    Example:
        >>> [int_to_byte4(n) for n in (0, 23, 24, 100, 1000)]
        [0, 23, 24, 57, 87]
    """
    i = int(i)
    if i < 0 or i > 2**31 - 1:
        raise ValueError(f"a length norm needs 0 <= i < 2**31, got {i}")
    if i < NUM_FREE_VALUES:
        return i
    return NUM_FREE_VALUES + _long_to_int4(i - NUM_FREE_VALUES)


def byte4_to_int(b: int) -> int:
    """Decode a 1-byte length norm (unsigned 0..255) to the length Lucene scores with (``SmallFloat.byte4ToInt``).

    Example:
        >>> byte4_to_int(int_to_byte4(100)), byte4_to_int(int_to_byte4(1000))
        (96, 984)
    """
    b = int(b)
    if not 0 <= b <= 255:
        raise ValueError(f"a norm byte is 0..255, got {b}")
    if b < NUM_FREE_VALUES:
        return b
    return NUM_FREE_VALUES + _int4_to_long(b - NUM_FREE_VALUES)


#: decoded length of every norm byte (Lucene's ``LENGTH_TABLE``), float32 like Lucene's table
LENGTH_TABLE: np.ndarray = np.array([byte4_to_int(b) for b in range(256)], dtype=np.float32)
# lengths at which the encoded byte increases: encode = searchsorted(_BOUNDS, n, "right") - 1
_BOUNDS: np.ndarray = np.array([byte4_to_int(b) for b in range(256)], dtype=np.int64)


def encode_lengths(lengths: np.ndarray | Sequence[int]) -> np.ndarray:
    """Vectorised :func:`int_to_byte4`: norm bytes (uint8) of an array of token counts.

    Example:
        >>> encode_lengths([0, 24, 100]).tolist()
        [0, 24, 57]
    """
    arr = np.asarray(lengths, dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > 2**31 - 1):
        raise ValueError("lengths must be in [0, 2**31)")
    # byte4_to_int is strictly increasing and int_to_byte4(n) is the largest b with byte4_to_int(b) <= n
    return (np.searchsorted(_BOUNDS, arr, side="right") - 1).astype(np.uint8)


def lossy_length(lengths: np.ndarray | Sequence[int]) -> np.ndarray:
    """The document length Lucene actually scores with: ``byte4ToInt(intToByte4(n))`` (float32).

    Example:
        >>> lossy_length([10, 100, 1000]).tolist()
        [10.0, 96.0, 984.0]
    """
    return LENGTH_TABLE[encode_lengths(lengths)]


# --------------------------------------------------------------------------------------------
# collection statistics and analysis
# --------------------------------------------------------------------------------------------

_SEP = "qzxjsepqzxj"  # a token the English analyzer leaves alone; splits batched analysis
_BATCH_CHARS = 400_000


class LuceneStats:
    """Collection statistics of a Lucene index and its analyzer, as Lucene's similarities see them.

    Attributes:
        N: ``docCount`` of the ``contents`` field (documents with at least one token).
        sum_ttf: ``sumTotalTermFreq`` (total number of tokens).
        avgdl: ``sum_ttf / N`` in double (Lucene's BM25 casts it to float32; see :attr:`avgdl_f32`).

    Document frequency and collection term frequency of *analysed* terms are read from Lucene's
    ``IndexReader.docFreq`` / ``totalTermFreq`` (the values ``IndexReader.get_term_counts(term,
    analyzer=None)`` returns, without re-analysing the term) and cached. :meth:`analyze` uses the
    index's analyzer (Anserini's default English analyzer: Porter stemmer, Lucene stopwords), with an
    LRU cache and batched calls into the JVM.

    Example:
        >>> import irrobust as ir
        >>> stats = LuceneStats(ir.lucene_index("cranfield"))   # doctest: +SKIP
        >>> stats.analyze("The boundary layers")                # doctest: +SKIP
        ['boundari', 'layer']
        >>> stats.df("boundari") > 0                            # doctest: +SKIP
        True
    """

    def __init__(self, index: Any, cache_size: int = 200_000) -> None:
        from pyserini.analysis import get_lucene_analyzer
        from pyserini.pyclass import autoclass

        self.index = index
        self._reader = index.reader() if hasattr(index, "reader") else index
        self._jreader = self._reader.reader
        self._Term = autoclass("org.apache.lucene.index.Term")
        self._analyzer_utils = autoclass("io.anserini.analysis.AnalyzerUtils")
        self._MultiTerms = autoclass("org.apache.lucene.index.MultiTerms")
        self._MultiDocValues = autoclass("org.apache.lucene.index.MultiDocValues")
        self._analyzer = get_lucene_analyzer()
        terms = self._MultiTerms.getTerms(self._jreader, FIELD)
        if terms is None:
            raise ModelError(f"the index has no {FIELD!r} field", where=str(getattr(index, "path", index)))
        self.N = int(terms.getDocCount())
        self.sum_ttf = int(terms.getSumTotalTermFreq())
        if self.N <= 0:
            raise ModelError("the index has no documents", where=str(getattr(index, "path", index)))
        self.avgdl = self.sum_ttf / self.N
        self.avgdl_f32 = np.float32(self.avgdl)
        self._term_stats: dict[str, tuple[int, int]] = {}
        self._cache: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self._cache_size = int(cache_size)
        self._docvec: OrderedDict[str, tuple[dict[str, int], int]] = OrderedDict()
        self._batch_ok = self._analyze_one(_SEP) == [_SEP]

    # -- term statistics ---------------------------------------------------------------------

    def term_stats(self, term: str) -> tuple[int, int]:
        """``(df, ttf)`` of an analysed term (0, 0 when absent).

        Example:
            >>> stats.term_stats("boundari")   # doctest: +SKIP
            (331, 1003)
        """
        hit = self._term_stats.get(term)
        if hit is None:
            jterm = self._Term(FIELD, term)
            hit = (int(self._jreader.docFreq(jterm)), int(self._jreader.totalTermFreq(jterm)))
            self._term_stats[term] = hit
        return hit

    def df(self, term: str) -> int:
        """Document frequency of an analysed term.

        Example:
            >>> stats.df("zzzz-not-a-term")   # doctest: +SKIP
            0
        """
        return self.term_stats(term)[0]

    def ttf(self, term: str) -> int:
        """Collection term frequency (total occurrences) of an analysed term.

        Example:
            >>> stats.ttf("boundari") >= stats.df("boundari")   # doctest: +SKIP
            True
        """
        return self.term_stats(term)[1]

    # -- analysis ------------------------------------------------------------------------------

    def _analyze_one(self, text: str) -> list[str]:
        out = str(self._analyzer_utils.analyze(self._analyzer, text).toString())
        # java.util.List.toString(): "[t1, t2]"; analysed tokens never contain whitespace
        return [] if out == "[]" else out[1:-1].split(", ")

    def analyze(self, text: str) -> list[str]:
        """The analysed tokens of ``text`` (same analyzer as the index; cached).

        Example:
            >>> stats.analyze("Flows in the boundary layer")   # doctest: +SKIP
            ['flow', 'boundari', 'layer']
        """
        return list(self.analyze_many([text])[0])

    def analyze_many(self, texts: Sequence[str]) -> list[tuple[str, ...]]:
        """Analysed tokens of many texts, batching uncached ones into few JVM calls.

        Texts are joined with a separator token the analyzer leaves intact; the English analyzer's
        filters act on single tokens and the tokenizer always breaks at whitespace, so the result
        equals analysing each text alone (checked by the tests).

        Example:
            >>> [len(t) for t in stats.analyze_many(["a boundary", "the layer of air"])]   # doctest: +SKIP
            [1, 2]
        """
        out: list[tuple[str, ...] | None] = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise IrrobustError(f"texts must be strings, got {type(text).__name__} at position {i}")
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                out[i] = hit
            else:
                todo.setdefault(text, []).append(i)
        pending = list(todo)
        for text, toks in zip(pending, self._analyze_uncached(pending), strict=True):
            for i in todo[text]:
                out[i] = toks
            self._cache[text] = toks
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return out  # type: ignore[return-value]

    def _analyze_uncached(self, texts: list[str]) -> list[tuple[str, ...]]:
        if not texts:
            return []
        if not self._batch_ok:
            return [tuple(self._analyze_one(t)) for t in texts]
        results: list[tuple[str, ...]] = []
        sep_re = re.compile(_SEP, re.IGNORECASE)
        start = 0
        while start < len(texts):
            end, chars = start, 0
            while end < len(texts) and (end == start or chars + len(texts[end]) < _BATCH_CHARS):
                chars += len(texts[end]) + len(_SEP) + 2
                end += 1
            chunk = texts[start:end]
            if any(sep_re.search(t) for t in chunk):
                results.extend(tuple(self._analyze_one(t)) for t in chunk)
            else:
                toks = self._analyze_one(f" {_SEP} ".join(chunk))
                parts: list[tuple[str, ...]] = []
                cur: list[str] = []
                for tok in toks:
                    if tok == _SEP:
                        parts.append(tuple(cur))
                        cur = []
                    else:
                        cur.append(tok)
                parts.append(tuple(cur))
                if len(parts) != len(chunk):  # pragma: no cover - defensive: never split wrongly
                    parts = [tuple(self._analyze_one(t)) for t in chunk]
                results.extend(parts)
            start = end
        return results

    # -- indexed documents ---------------------------------------------------------------------

    def internal_docid(self, docno: str) -> int:
        """Lucene's internal docid of a collection docno; :class:`ModelError` if not indexed.

        Example:
            >>> stats.internal_docid("1") >= 0   # doctest: +SKIP
            True
        """
        try:
            docid = int(self._reader.convert_collection_docid_to_internal_docid(str(docno)))
        except Exception as exc:  # jnius raises JavaException for unknown ids
            raise ModelError(f"document {docno!r} is not in the index", where=str(self.index)) from exc
        if docid < 0:
            raise ModelError(f"document {docno!r} is not in the index", where=str(self.index))
        return docid

    def doc_norms(self, docnos: Sequence[str]) -> np.ndarray:
        """The stored 1-byte length norms (uint8) of indexed documents, read from Lucene's norms.

        Example:
            >>> stats.doc_norms(["1"]).dtype   # doctest: +SKIP
            dtype('uint8')
        """
        ids = np.array([self.internal_docid(d) for d in docnos], dtype=np.int64)
        out = np.zeros(len(ids), dtype=np.uint8)
        order = np.argsort(ids, kind="stable")
        values = None
        last = -1
        for pos in order:  # NumericDocValues is a forward iterator: visit docids in increasing order
            docid = int(ids[pos])
            if values is None or docid < last:
                values = self._MultiDocValues.getNormValues(self._jreader, FIELD)
            last = docid
            if values is not None and values.advanceExact(docid):
                out[pos] = int(values.longValue()) & 0xFF
        return out

    def doc_vector(self, docno: str) -> tuple[dict[str, int], int]:
        """``(term -> tf, length)`` of an indexed document from its stored document vector (cached).

        Example:
            >>> vec, length = stats.doc_vector("1")   # doctest: +SKIP
            >>> sum(vec.values()) == length            # doctest: +SKIP
            True
        """
        hit = self._docvec.get(docno)
        if hit is not None:
            self._docvec.move_to_end(docno)
            return hit
        jmap = self._reader.object.getDocumentVector(self._jreader, str(docno))
        if jmap is None:
            raise ModelError(
                f"document {docno!r} is not in the index (or has no document vector)", where=str(self.index)
            )
        text = str(jmap.toString())  # "{term=tf, term=tf}"; terms contain neither spaces nor a trailing "=digits"
        vec: dict[str, int] = {}
        if text != "{}":
            for item in text[1:-1].split(", "):
                term, _, tf = item.rpartition("=")
                vec[term] = int(tf)
        hit = (vec, int(sum(vec.values())))
        self._docvec[docno] = hit
        while len(self._docvec) > 50_000:
            self._docvec.popitem(last=False)
        return hit


# --------------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------------


def query_terms(stats: LuceneStats, query: str) -> tuple[list[str], np.ndarray]:
    """Anserini's bag-of-words query: distinct analysed terms and their boosts (occurrence counts).

    Example:
        >>> query_terms(stats, "layer boundary layers")   # doctest: +SKIP
        (['layer', 'boundari'], array([2., 1.], dtype=float32))
    """
    counts = Counter(stats.analyze(query))
    terms = list(counts)
    return terms, np.array([counts[t] for t in terms], dtype=np.float32)


def bm25_idf(df: np.ndarray | int, n_docs: int) -> np.ndarray:
    """Lucene's BM25 idf, ``(float) ln(1 + (N - df + 0.5) / (df + 0.5))``.

    Example:
        >>> float(bm25_idf(1, 1000))
        6.5032...
    """
    df = np.asarray(df, dtype=np.float64)
    return np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)  # log(1 + x) as Java, not log1p


def bm25_scores(tf: np.ndarray, norms: np.ndarray, df: np.ndarray, boosts: np.ndarray, stats: LuceneStats,
                k1: float = 0.9, b: float = 0.4) -> np.ndarray:  # fmt: skip
    """Lucene 9 ``BM25Similarity`` scores (float32) from a ``(docs, terms)`` tf matrix and norm bytes.

    Terms with ``df == 0`` (not in the index) contribute 0.

    Example:
        >>> bm25_scores(np.array([[1]]), encode_lengths([10]), np.array([5]), np.ones(1, np.float32), stats)  # doctest: +SKIP
        array([...], dtype=float32)
    """
    k1_, b_, one = np.float32(k1), np.float32(b), np.float32(1.0)
    cache = one / (k1_ * ((one - b_) + b_ * LENGTH_TABLE / stats.avgdl_f32))  # float32, Lucene's order
    weight = np.asarray(boosts, dtype=np.float32) * bm25_idf(df, stats.N)  # (terms,)
    norm_inv = cache[np.asarray(norms, dtype=np.uint8)][:, None]  # (docs, 1)
    tf32 = np.asarray(tf, dtype=np.float32)
    term = weight - weight / (one + tf32 * norm_inv)
    term = np.where((tf32 > 0) & (np.asarray(df) > 0), term, np.float32(0.0))
    return term.astype(np.float64).sum(axis=1).astype(np.float32)


def ql_scores(tf: np.ndarray, norms: np.ndarray, ttf: np.ndarray, boosts: np.ndarray, stats: LuceneStats,
              mu: float = 1000.0) -> np.ndarray:  # fmt: skip
    """Lucene 9 ``LMDirichletSimilarity`` scores (float32), negative term scores clamped to 0 as Lucene does.

    Only matching (``tf > 0``) terms of indexed vocabulary contribute.

    Example:
        >>> ql_scores(np.array([[2]]), encode_lengths([10]), np.array([50]), np.ones(1, np.float32), stats)  # doctest: +SKIP
        array([...], dtype=float32)
    """
    mu_ = float(np.float32(mu))
    p_c = (np.asarray(ttf, dtype=np.float64) + 1.0) / (stats.sum_ttf + 1.0)
    dl = LENGTH_TABLE[np.asarray(norms, dtype=np.uint8)].astype(np.float64)[:, None]
    tf64 = np.asarray(tf, dtype=np.float64)
    boosts64 = np.asarray(boosts, dtype=np.float32).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = boosts64 * (np.log(1.0 + tf64 / (mu_ * p_c)) + np.log(mu_ / (dl + mu_)))
    term = np.where(term > 0.0, term, 0.0).astype(np.float32)
    term = np.where((tf64 > 0) & (np.asarray(ttf) > 0), term, np.float32(0.0))
    return term.astype(np.float64).sum(axis=1).astype(np.float32)


class LuceneScorer:
    """BM25 / QL scores of a query against indexed documents or arbitrary texts, as Lucene computes them.

    Args:
        index: a :class:`irrobust.index.lucene.LuceneIndex` (or a :class:`LuceneStats` of one).
        model: default model, ``"bm25"`` or ``"ql"``.
        k1, b: BM25 parameters (pyserini's BEIR defaults 0.9, 0.4).
        mu: Dirichlet prior for QL (1000).

    See the module docstring for the exact formulas and the one deviation (no tie rounding).

    Example:
        >>> import irrobust as ir
        >>> scorer = LuceneScorer(ir.lucene_index("cranfield"))                           # doctest: +SKIP
        >>> scorer.score_docs("boundary layer", ["1", "2"])                               # doctest: +SKIP
        >>> scorer.score_texts("boundary layer", ["boundary layer flow"], model="ql", mu=1000)  # doctest: +SKIP
    """

    def __init__(self, index: Any, model: str = "bm25", k1: float = 0.9, b: float = 0.4, mu: float = 1000.0) -> None:
        self.stats = index if isinstance(index, LuceneStats) else LuceneStats(index)
        self.defaults = self._params(model, {"k1": k1, "b": b, "mu": mu})

    @staticmethod
    def _params(model: str, params: dict[str, Any]) -> dict[str, Any]:
        if model not in MODELS:
            raise IrrobustError(f"unknown lexical model {model!r}; choose one of {list(MODELS)}", where="LuceneScorer")
        unknown = set(params) - {"k1", "b", "mu"}
        if unknown:
            raise IrrobustError(f"unknown scoring parameter(s) {sorted(unknown)}; use k1, b (bm25) or mu (ql)",
                                where="LuceneScorer")  # fmt: skip
        k1, b, mu = float(params.get("k1", 0.9)), float(params.get("b", 0.4)), float(params.get("mu", 1000.0))
        if k1 < 0 or not 0 <= b <= 1 or mu <= 0:
            raise IrrobustError(f"need k1 >= 0, 0 <= b <= 1, mu > 0; got k1={k1}, b={b}, mu={mu}", where="LuceneScorer")
        return {"model": model, "k1": k1, "b": b, "mu": mu}

    def resolve(self, model: str | None, params: dict[str, Any]) -> dict[str, Any]:
        """The full scoring parameters: ``model`` and ``params`` over this scorer's defaults (validated).

        Example:
            >>> scorer.resolve("ql", {"mu": 500})["mu"]   # doctest: +SKIP
            500.0
        """
        base = {k: v for k, v in self.defaults.items() if k != "model"}
        return self._params(model or self.defaults["model"], {**base, **params})

    def score_counts(self, query: str, tf: np.ndarray, norms: np.ndarray, terms: list[str], boosts: np.ndarray,
                     p: dict[str, Any]) -> np.ndarray:  # fmt: skip
        """Scores (float32) from a ``(docs, terms)`` term-frequency matrix and norm bytes, with parameters ``p``
        (:meth:`resolve`); ``terms`` and ``boosts`` come from :func:`query_terms` of ``query``.

        Example:
            >>> terms, boosts = query_terms(scorer.stats, "boundary layer")                          # doctest: +SKIP
            >>> scorer.score_counts("boundary layer", np.array([[1, 1]]), encode_lengths([10]), terms, boosts,
            ...                     scorer.resolve(None, {}))                                         # doctest: +SKIP
        """
        st = [self.stats.term_stats(t) for t in terms]
        df = np.array([s[0] for s in st], dtype=np.int64)
        ttf = np.array([s[1] for s in st], dtype=np.int64)
        if tf.shape[1] == 0:
            return np.zeros(tf.shape[0], dtype=np.float32)
        if p["model"] == "bm25":
            return bm25_scores(tf, norms, df, boosts, self.stats, k1=p["k1"], b=p["b"])
        return ql_scores(tf, norms, ttf, boosts, self.stats, mu=p["mu"])

    def score_texts(self, query: str, texts: Sequence[str], model: str | None = None, **params: Any) -> np.ndarray:
        """Scores (float32) of plain ``texts`` as if each were an indexed document, with the index's statistics.

        Collection statistics (N, df, avgdl) are the index's, unchanged by the texts (the usual
        "score an unseen document" convention; for an indexed document's own text this equals its score).

        Example:
            >>> scorer.score_texts("boundary layer", ["boundary layer", "no match"])   # doctest: +SKIP
            array([4.1..., 0.], dtype=float32)
        """
        p = self.resolve(model, params)
        terms, boosts = query_terms(self.stats, query)
        tokens = self.stats.analyze_many(list(texts))
        index = {t: j for j, t in enumerate(terms)}
        tf = np.zeros((len(tokens), len(terms)), dtype=np.int64)
        for i, toks in enumerate(tokens):
            for tok in toks:
                j = index.get(tok)
                if j is not None:
                    tf[i, j] += 1
        norms = encode_lengths([len(t) for t in tokens])
        return self.score_counts(query, tf, norms, terms, boosts, p)

    def score_token_samples(self, query: str, strings: Sequence[str], samples: Sequence[np.ndarray],
                            model: str | None = None, **params: Any) -> list[np.ndarray]:  # fmt: skip
        """Scores (float64) of copies of documents given as token-id matrices, each exactly Lucene's score of the
        copy's text (its tokens, ids into ``strings``, joined by spaces).

        The English analyzer acts on whitespace tokens independently, so a copy's analysed tokens are the
        concatenation of its tokens' ones: each distinct token string is analysed once, and term frequencies and
        lengths of all copies are sums over table rows (CertDR's fast smoothed path).

        Example:
            >>> scorer.score_token_samples("boundary layer", ["boundary", "layer"], [np.array([[0, 1], [0, 0]])])  # doctest: +SKIP
            [array([4.1..., 2.0...])]
        """
        p = self.resolve(model, params)
        stats = self.stats
        terms, boosts = query_terms(stats, query)
        used = np.unique(np.concatenate([m.reshape(-1) for m in samples])) if samples else np.zeros(0, np.int64)
        analysed = stats.analyze_many([strings[i] for i in used])
        col = {t: j for j, t in enumerate(terms)}
        tf_tab = np.zeros((len(used), len(terms)), dtype=np.float64)
        len_tab = np.zeros(len(used), dtype=np.float64)
        for r, toks in enumerate(analysed):
            len_tab[r] = len(toks)
            for t in toks:
                j = col.get(t)
                if j is not None:
                    tf_tab[r, j] += 1
        local = np.full(len(strings), -1, dtype=np.int64)
        local[used] = np.arange(len(used))
        out = []
        for mat in samples:
            loc = local[mat]
            tf = np.rint(tf_tab[loc].sum(axis=1)).astype(np.int64)
            lengths = np.rint(len_tab[loc].sum(axis=1)).astype(np.int64)
            out.append(self.score_counts(query, tf, encode_lengths(lengths), terms, boosts, p).astype(np.float64))
        return out

    def score_docs(self, query: str, docnos: Sequence[str], model: str | None = None, **params: Any) -> np.ndarray:
        """Scores (float32) of indexed documents from their stored document vectors and norms.

        Example:
            >>> scorer.score_docs("boundary layer", ["1"], model="bm25", k1=0.9, b=0.4)   # doctest: +SKIP
            array([...], dtype=float32)
        """
        p = self.resolve(model, params)
        terms, boosts = query_terms(self.stats, query)
        docnos = [str(d) for d in docnos]
        tf = np.zeros((len(docnos), len(terms)), dtype=np.int64)
        for i, d in enumerate(docnos):
            vec, _ = self.stats.doc_vector(d)
            for j, t in enumerate(terms):
                tf[i, j] = vec.get(t, 0)
        norms = self.stats.doc_norms(docnos)
        return self.score_counts(query, tf, norms, terms, boosts, p)

    def doc_lengths(self, docnos: Iterable[str]) -> np.ndarray:
        """Exact token counts of indexed documents (sum of their document-vector term frequencies).

        Example:
            >>> scorer.doc_lengths(["1"])   # doctest: +SKIP
            array([97])
        """
        return np.array([self.stats.doc_vector(str(d))[1] for d in docnos], dtype=np.int64)


_SHARED: dict[str, LuceneStats] = {}


def shared_stats(index: Any) -> LuceneStats:
    """One :class:`LuceneStats` per index directory and process, so caches (analysis, document vectors) are shared.

    The entry is keyed by the index path and its manifest's build time, so a rebuilt index gets fresh statistics.

    Example:
        >>> shared_stats(ir.lucene_index("cranfield")) is shared_stats(ir.lucene_index("cranfield"))   # doctest: +SKIP
        True
    """
    key = f"{getattr(index, 'path', id(index))}|{getattr(index, 'manifest', {}).get('build_seconds')}"
    hit = _SHARED.get(key)
    if hit is None:
        hit = _SHARED[key] = LuceneStats(index)
    return hit


def lucene_scorer(index: Any, **kwargs: Any) -> LuceneScorer:
    """A :class:`LuceneScorer` for an index, or for a dataset / dataset ID (its collection's Lucene index).

    Example:
        >>> lucene_scorer("cranfield").stats.N   # doctest: +SKIP
        1398
    """
    if isinstance(index, str) or not hasattr(index, "reader"):
        from irrobust.index.lucene import lucene_index

        index = lucene_index(index, progress=False)
    return LuceneScorer(shared_stats(index), **kwargs)


__all__ = [
    "LENGTH_TABLE",
    "NUM_FREE_VALUES",
    "LuceneScorer",
    "LuceneStats",
    "bm25_idf",
    "bm25_scores",
    "byte4_to_int",
    "encode_lengths",
    "int_to_byte4",
    "lossy_length",
    "lucene_scorer",
    "ql_scores",
    "query_terms",
    "shared_stats",
]
