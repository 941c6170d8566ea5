"""The direct Lucene path gives pyserini's rankings and scores, bit for bit, at k = 1000."""

from __future__ import annotations

import numpy as np
import pytest

from irrobust.index.lucene_direct import adjust_ties


@pytest.fixture(scope="module")
def cran(seed):
    import irrobust as ir

    ds = ir.dataset("cranfield")
    return ds, ir.lucene_index(ds, progress=False)


@pytest.mark.parametrize("model", ["bm25", "ql"])
def test_direct_equals_pyserini_at_k1000(cran, model):
    import irrobust as ir

    ds, index = cran
    make = {"bm25": lambda d: ir.BM25(index, k=1000, k1=1.2, b=0.75, direct=d),
            "ql": lambda d: ir.QL(index, k=1000, mu=500.0, direct=d)}[model]  # fmt: skip
    queries = ds.queries.head(40)  # 40 queries x ~1000 hits; pyserini's path is the slow side
    fast, slow = make(True), make(False)
    assert fast.direct and not slow.direct
    a, b = fast(queries), slow(queries)
    assert len(a) == len(b) > 30_000
    assert a["qid"].tolist() == b["qid"].tolist()
    assert a["docno"].tolist() == b["docno"].tolist()
    assert a["rank"].tolist() == b["rank"].tolist()
    assert np.array_equal(a["score"].to_numpy(), b["score"].to_numpy())  # exactly, tie adjustment included


def test_rm3_stays_on_pyserini(cran):
    import irrobust as ir

    _, index = cran
    assert not ir.RM3(index, k=10).direct


def test_adjust_ties_runs_and_rounding():
    """Anserini's rule: round in double to 1e-4, then −1e-6 per tie within a run (ties against adjusted floats)."""
    f = np.float32
    raw = np.array([3.4584498, 3.0, 3.0, 3.0, 2.99996, 2.5, 2.4999, 1.0], dtype=np.float32)
    got = adjust_ties(raw)
    assert got[0] == f(3.4584)  # 34584.498 rounds down in double (float32 arithmetic would give 3.4585)
    assert got[1] == f(3.0)
    assert got[2] == f(f(3.0) - f(1e-6))
    assert got[3] == f(f(3.0) - f(2e-6))
    assert got[4] == f(f(3.0) - f(3e-6))  # 2.99996 rounds to 3.0 and continues the run
    assert got[5] == f(2.5)
    assert got[6] == f(f(2.4999) - f(1e-6))  # within 1e-4 (in float) of the hit above: a tie, not a new run
    assert got[7] == f(1.0)
