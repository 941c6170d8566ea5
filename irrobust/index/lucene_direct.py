"""Direct Lucene search: pyserini's rankings and scores without loading every hit's stored document.

pyserini 0.25's ``LuceneSearcher.batch_search`` runs Anserini's ``SimpleSearcher``, which builds a result object
per hit — including the hit's stored Lucene document — and hands them to Python one JNI call per field. For
300 SciFact queries at k = 1000 that is tens of seconds, while Lucene's search itself takes a few milliseconds
per query. :class:`DirectSearcher` does what ``SimpleSearcher`` does for BM25 and query likelihood, and nothing
more:

1. the query is built by Anserini's ``BagOfWordsQueryGenerator`` with Anserini's ``DefaultEnglishAnalyzer`` (what
   pyserini's ``LuceneSearcher`` uses by default: the same tokens and boosts);
2. Lucene's ``IndexSearcher`` with the same similarity (``BM25Similarity(k1, b)`` or
   ``LMDirichletSimilarity(mu)``) returns the top k sorted by score, ties broken by the collection's document id
   (Anserini's ``BREAK_SCORE_TIES_BY_DOCID``), so the same k documents survive the cut;
3. scores are adjusted as Anserini's ``ScoreTiesAdjusterReranker`` does: rounded to 1e-4 (computed in double,
   stored as float), then lowered by 1e-6 per position within a run of ties (see :func:`adjust_ties`);
4. internal Lucene ids map to collection ids through a table read once per process and index.

The result lists are read through a tiny Java helper (``java/IrrobustTopDocs.java``, compiled on first use with
the JDK's ``javac`` into ``<home>/.cache/java``) that packs a whole top-k list into one ``int[]``; without a
``javac`` the same arrays are read hit by hit (identical results, slower). RM3 stays on pyserini: its feedback
step needs the documents.

Example:
    >>> from irrobust.index import lucene_index
    >>> s = DirectSearcher(lucene_index("cranfield"), "bm25", k1=0.9, b=0.4)   # doctest: +SKIP
    >>> docnos, scores = s.search("what similarity laws must be obeyed", k=10)   # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from functools import cache
from pathlib import Path

import numpy as np

from irrobust import paths
from irrobust.errors import IrrobustError

_JAVA_SOURCE = paths.JAVA_HELPER_SOURCE
_HELPER = "IrrobustTopDocs"
_lock = threading.Lock()


def _javac() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "javac").is_file():
        return str(Path(home) / "bin" / "javac")
    return shutil.which("javac")


def _anserini_jar() -> str:
    import glob

    import pyserini

    jars = glob.glob(os.path.join(os.path.dirname(pyserini.__file__), "resources", "jars", "anserini-*-fatjar.jar"))
    if not jars:
        raise IrrobustError("pyserini's Anserini jar was not found", where="pyserini")
    return max(jars, key=os.path.getctime)


def _compile_helper() -> bool:
    """Compile the helper into :func:`helper_classpath` (atomically); False when no ``javac`` is available."""
    target = paths.java_helper_dir()
    if (target / f"{_HELPER}.class").is_file():
        return True
    javac = _javac()
    if javac is None or not _JAVA_SOURCE.is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        done = subprocess.run([javac, "--release", "11", "-nowarn", "-cp", _anserini_jar(), "-d", tmp, str(_JAVA_SOURCE)],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            return False
        target.mkdir(exist_ok=True)
        os.replace(Path(tmp) / f"{_HELPER}.class", target / f"{_HELPER}.class")
    return True


@cache
def _java():
    """The Java classes this module uses (the JVM starts here if it has not yet)."""
    # Anserini's jar on the classpath, then the JVM (pyserini.pyclass alone: pyserini.search would import torch)
    import pyserini.pyclass  # noqa: F401

    # isort: split
    from jnius import autoclass

    helper = None
    if _compile_helper():
        try:
            helper = autoclass(_HELPER)
        except Exception:  # noqa: BLE001 - the folder was not on the classpath when the JVM started
            helper = None
    sort_field = autoclass("org.apache.lucene.search.SortField")
    sort_type = autoclass("org.apache.lucene.search.SortField$Type")
    sort = autoclass("org.apache.lucene.search.Sort")(sort_field.FIELD_SCORE, sort_field("id", sort_type.STRING_VAL))
    return {
        "helper": helper,
        "sort": sort,
        "IndexSearcher": autoclass("org.apache.lucene.search.IndexSearcher"),
        "BM25Similarity": autoclass("org.apache.lucene.search.similarities.BM25Similarity"),
        "LMDirichletSimilarity": autoclass("org.apache.lucene.search.similarities.LMDirichletSimilarity"),
        "BagOfWords": autoclass("io.anserini.search.query.BagOfWordsQueryGenerator"),
        # what pyserini's LuceneSearcher(index) uses unless told otherwise
        "DefaultEnglishAnalyzer": autoclass("io.anserini.analysis.DefaultEnglishAnalyzer"),
    }


def adjust_ties(scores: np.ndarray) -> np.ndarray:
    """Anserini's ``ScoreTiesAdjusterReranker``: round to 1e-4, then lower the i-th tie of a run by i·1e-6.

    Rounding is Java's ``Math.round(score * 1e4) / 1e4`` in double, stored as float; a hit ties with the one
    above when their (already adjusted) float scores differ by at most 1e-4.

    Example:
        >>> adjust_ties(np.array([2.00004, 2.00001, 1.5], dtype=np.float32)).tolist() == [
        ...     float(np.float32(2.0)), float(np.float32(np.float32(2.0) - np.float32(1e-6))), 1.5]
        True
    """
    x = np.asarray(scores, dtype=np.float32)
    rounded = (np.floor(x.astype(np.float64) * 1e4 + 0.5) / 1e4).astype(np.float32)
    if rounded.size < 2:
        return rounded
    near = (rounded[:-1] - rounded[1:]) <= np.float32(1.1e-4)  # candidates only; decided exactly below
    if not near.any():
        return rounded
    out = rounded.copy()
    step, limit = np.float32(1e-6), np.float32(1e-4)
    dup = 0
    start = int(np.argmax(near))
    for i in range(start + 1, out.size):
        if out[i - 1] - out[i] > limit:
            dup = 0
        else:
            dup += 1
            out[i] = out[i] - step * np.float32(dup)
    return out


_tables: dict[str, np.ndarray] = {}


class DirectSearcher:
    """BM25 or query-likelihood search over a Lucene index, equal to pyserini's ``search`` (see the module doc).

    ``model`` is ``"bm25"`` (``k1``, ``b``) or ``"ql"`` (``mu``).

    Example:
        >>> DirectSearcher.__init__.__kwdefaults__
        {'k1': 0.9, 'b': 0.4, 'mu': 1000.0}
    """

    def __init__(self, index, model: str, *, k1: float = 0.9, b: float = 0.4, mu: float = 1000.0) -> None:
        if model not in ("bm25", "ql"):
            raise IrrobustError(f"direct search supports 'bm25' and 'ql', not {model!r}", where="DirectSearcher")
        self.index, self.model = index, model
        java = _java()
        from jnius import autoclass, cast

        self._analyzer = java["DefaultEnglishAnalyzer"].newDefaultInstance()
        reader = autoclass("org.apache.lucene.index.DirectoryReader").open(
            autoclass("org.apache.lucene.store.FSDirectory").open(autoclass("java.nio.file.Paths").get(str(index.path)))
        )
        self._reader = reader
        self._searcher = java["IndexSearcher"](cast("org.apache.lucene.index.IndexReader", reader))
        if model == "bm25":
            self._searcher.setSimilarity(java["BM25Similarity"](float(k1), float(b)))
        else:
            self._searcher.setSimilarity(java["LMDirichletSimilarity"](float(mu)))
        self._generator = java["BagOfWords"]()
        self._java = java
        self._ids = None

    @property
    def ids(self) -> np.ndarray:
        """The collection id of each internal Lucene id."""
        if self._ids is None:
            key = str(self.index.path)
            with _lock:
                if key not in _tables:
                    helper = self._java["helper"]
                    if helper is not None:
                        ids = list(helper.storedField(self._reader, "id"))
                    else:
                        stored = self._reader.storedFields()
                        ids = [stored.document(i).get("id") for i in range(self._reader.maxDoc())]
                    _tables[key] = np.asarray(ids, dtype=object)
            self._ids = _tables[key]
        return self._ids

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The top ``k`` collection ids and their (tie-adjusted) scores for one query, best first.

        Example:
            >>> s.search("boundary layer", 3)   # doctest: +SKIP
        """
        q = self._generator.buildQuery("contents", self._analyzer, query)
        helper = self._java["helper"]
        if helper is not None:
            packed = np.asarray(helper.search(self._searcher, q, int(k), self._java["sort"]), dtype=np.int32)
            n = packed.size // 2
            docs, raw = packed[:n], packed[n:].view(np.float32)
        else:
            hits = self._searcher.search(q, int(k), self._java["sort"], True).scoreDocs
            docs = np.fromiter((h.doc for h in hits), dtype=np.int64, count=len(hits))
            raw = np.fromiter((h.score for h in hits), dtype=np.float32, count=len(hits))
        return self.ids[docs], adjust_ties(raw).astype(np.float64)
