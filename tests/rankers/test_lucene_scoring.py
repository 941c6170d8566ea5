"""Lucene BM25 / QL recomputed in Python equal pyserini's scores (Cranfield, real queries)."""

from __future__ import annotations

import numpy as np
import pytest

from irrobust.errors import IrrobustError
from irrobust.rankers.lucene_scoring import (
    LENGTH_TABLE,
    NUM_FREE_VALUES,
    LuceneScorer,
    byte4_to_int,
    encode_lengths,
    int_to_byte4,
    lossy_length,
    shared_stats,
)

N_QUERIES = 40
K = 100


@pytest.fixture(scope="module")
def cran():
    import irrobust as ir
    from irrobust import paths

    if paths.seed_dir() is None:
        pytest.skip("no staged data directory")
    ds = ir.dataset("cranfield")
    return ds, ir.lucene_index(ds, progress=False)


@pytest.fixture(scope="module")
def scorer(cran):
    return LuceneScorer(shared_stats(cran[1]))


@pytest.fixture(scope="module")
def java(cran):
    """Lucene itself: an IndexSearcher and Anserini's bag-of-words query generator (raw, unrounded scores)."""
    from pyserini.analysis import get_lucene_analyzer
    from pyserini.pyclass import autoclass

    return {
        "searcher": autoclass("org.apache.lucene.search.IndexSearcher")(cran[1].reader().reader),
        "bow": autoclass("io.anserini.search.query.BagOfWordsQueryGenerator")(),
        "analyzer": get_lucene_analyzer(),
        "bm25": autoclass("org.apache.lucene.search.similarities.BM25Similarity")(0.9, 0.4),
        "ql": autoclass("org.apache.lucene.search.similarities.LMDirichletSimilarity")(1000.0),
        "smallfloat": autoclass("org.apache.lucene.util.SmallFloat"),
    }


def _lucene_raw(java, reader, model: str, query: str, k: int = K) -> dict[str, float]:
    java["searcher"].setSimilarity(java[model])
    top = java["searcher"].search(java["bow"].buildQuery("contents", java["analyzer"], query), k)
    return {reader.convert_internal_docid_to_collection_docid(sd.doc): float(sd.score) for sd in top.scoreDocs}


# ---------------------------------------------------------------------------------------------
# SmallFloat
# ---------------------------------------------------------------------------------------------


def test_smallfloat_matches_lucene(java):
    sf = java["smallfloat"]
    rng = np.random.default_rng(0)
    values = (
        list(range(3000))
        + [2**e + d for e in range(11, 31) for d in (-1, 0, 1)]
        + rng.integers(0, 2**31 - 1, 500).tolist()
    )
    for i in values:
        assert int_to_byte4(int(i)) == (sf.intToByte4(int(i)) & 0xFF), i
    for b in range(256):
        assert byte4_to_int(b) == sf.byte4ToInt(b - 256 if b > 127 else b), b
    assert encode_lengths(values).tolist() == [int_to_byte4(int(i)) for i in values]


def test_smallfloat_roundtrip_properties():
    decoded = [byte4_to_int(b) for b in range(256)]
    assert all(int_to_byte4(v) == b for b, v in enumerate(decoded))  # encode(decode(b)) == b
    assert all(x < y for x, y in zip(decoded, decoded[1:], strict=False))  # strictly increasing table
    assert np.array_equal(LENGTH_TABLE, np.array(decoded, dtype=np.float32))  # float32, as Lucene's table
    n = np.arange(0, 200_000)
    enc = encode_lengths(n)
    assert (np.diff(enc.astype(int)) >= 0).all()  # monotone
    lossy = lossy_length(n)
    assert (lossy <= n).all()  # decoding rounds down
    assert (lossy[:NUM_FREE_VALUES] == n[:NUM_FREE_VALUES]).all()  # exact for short documents
    big = n[n >= NUM_FREE_VALUES]
    assert ((big - lossy[n >= NUM_FREE_VALUES]) / big < 1 / 8).all()  # 4 significant bits of the excess
    with pytest.raises(ValueError):
        int_to_byte4(-1)


# ---------------------------------------------------------------------------------------------
# scores
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["bm25", "ql"])
def test_scores_equal_pyserini_indexed_and_as_text(cran, scorer, java, model):
    import irrobust as ir

    ds, idx = cran
    queries = ds.queries.sort_values("qid", key=lambda s: s.astype(int)).head(N_QUERIES)
    stage = ir.BM25(idx, k=K) if model == "bm25" else ir.QL(idx, k=K)
    stage.progress = False
    run = stage(queries)
    assert len(run) > 0.9 * N_QUERIES * K
    err_doc = err_txt = err_raw = 0.0
    n_raw = 0
    for (_, query), g in run.groupby(["qid", "query"], sort=False):
        docnos = g["docno"].tolist()
        by_doc = scorer.score_docs(query, docnos, model=model).astype(np.float64)
        by_text = scorer.score_texts(query, ds.docs.texts(docnos), model=model).astype(np.float64)
        err_doc = max(err_doc, float(np.abs(by_doc - g["score"].to_numpy()).max()))
        err_txt = max(err_txt, float(np.abs(by_text - g["score"].to_numpy()).max()))
        raw = _lucene_raw(java, idx.reader(), model, query)
        both = [i for i, d in enumerate(docnos) if d in raw]
        ref = np.array([raw[docnos[i]] for i in both])
        err_raw = max(err_raw, float(np.abs(by_doc[both] - ref).max()), float(np.abs(by_text[both] - ref).max()))
        n_raw += len(both)
    # pyserini's searcher rounds to 4 decimals (Anserini's ScoreTiesAdjusterReranker)
    assert err_doc <= 1e-4 and err_txt <= 1e-4, (err_doc, err_txt)
    # against Lucene's raw scores the float32 recomputation is exact
    assert n_raw > 0.9 * len(run) and err_raw == 0.0, (n_raw, err_raw)


def test_repeated_query_terms_are_boosted(cran, scorer, java):
    ds, idx = cran
    query = "flow flow flow over a plate boundary layer"
    raw = _lucene_raw(java, idx.reader(), "bm25", query, k=20)
    docnos = list(raw)
    mine = scorer.score_docs(query, docnos)
    assert np.array_equal(mine, np.array([raw[d] for d in docnos], dtype=np.float32))
    once = scorer.score_docs("flow over a plate boundary layer", docnos)
    assert (mine > once).all()


def test_norms_and_document_vectors_agree(cran, scorer):
    ds, idx = cran
    docnos = sorted(ds.docs.docnos - set(idx.manifest["empty_documents_skipped"]), key=int)[:300]
    lengths = scorer.doc_lengths(docnos)
    assert np.array_equal(scorer.stats.doc_norms(docnos), encode_lengths(lengths))
    tokens = scorer.stats.analyze_many(ds.docs.texts(docnos))
    assert [len(t) for t in tokens] == lengths.tolist()
    vec, _ = scorer.stats.doc_vector(docnos[0])
    assert dict(zip(*np.unique(tokens[0], return_counts=True), strict=True)) == vec
    assert scorer.stats.term_stats("zzqqxnotaterm") == (0, 0)
    df, cf = idx.reader().get_term_counts("boundari", analyzer=None)
    assert scorer.stats.term_stats("boundari") == (df, cf)


def test_batched_analysis_equals_single(cran):
    from irrobust.rankers.lucene_scoring import LuceneStats

    ds, idx = cran
    stats = LuceneStats(idx)  # fresh caches
    texts = ds.docs.texts([str(i) for i in range(1, 80)]) + [
        "",
        "The",
        "U.S. flows, 1,000 times; o'neil's QZXJSEPQZXJ x",
    ]
    batched = stats.analyze_many(texts)
    single = [tuple(stats._analyze_one(t)) for t in texts]
    assert batched == single
    assert stats.analyze("The boundary layers") == ["boundari", "layer"]


def test_unseen_text_and_errors(scorer):
    s = scorer.score_texts("boundary layer", ["boundary layer", "nothing relevant here", ""])
    assert s[0] > 0 and s[1] == 0 and s[2] == 0
    st = scorer.stats
    p_c = (st.ttf("boundari") + 1) / (st.sum_ttf + 1)
    expected = np.float32(np.log(1 + 1 / (500 * p_c)) + np.log(500 / (1 + 500)))
    assert scorer.score_texts("boundary", ["boundary"], model="ql", mu=500)[0] == expected
    assert scorer.score_texts("the of and", ["the of and"]).tolist() == [0.0]  # stopwords only
    with pytest.raises(IrrobustError):
        scorer.score_texts("x", ["x"], model="bm26")
    with pytest.raises(IrrobustError):
        scorer.score_texts("x", ["x"], k1=-1)
