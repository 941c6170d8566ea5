"""Dense retrieval (all-MiniLM-L6-v2 + FAISS) on a small real SciFact subset; full-collection check is slow."""

from __future__ import annotations

import os

import numpy as np
import pytest

from irrobust.errors import ModelError


@pytest.fixture(scope="module")
def subset_index(tmp_path_factory, scifact_test, heldout_run, subset_dataset):
    """A real SciFact subset: the judged documents of 15 test queries plus BM25 distractors."""
    from irrobust.index.dense import dense_index

    os.environ["IRROBUST_INDEXES"] = str(tmp_path_factory.mktemp("indexes"))
    try:
        queries = scifact_test.queries.sort_values("qid").head(15)
        run = heldout_run[heldout_run["qid"].isin(queries["qid"]) & (heldout_run["rank"] <= 3)]
        judged = scifact_test.qrels[scifact_test.qrels["qid"].isin(queries["qid"])]["docno"]
        sub = subset_dataset(scifact_test, [*judged, *run["docno"]], "scifact-subset", queries)
        yield sub, dense_index(sub, progress=False)
    finally:
        os.environ.pop("IRROBUST_INDEXES", None)


def test_dense_index_manifest_and_retrieval(subset_index, random_ndcg):
    from irrobust.evaluate.measures import evaluate_run
    from irrobust.index.dense import model_sha256
    from irrobust.rankers.dense import DenseRetriever

    sub, idx = subset_index
    m = idx.manifest
    assert m["doc_count"] == len(sub.docs) == idx.embeddings.shape[0] and m["model_sha256"] == model_sha256()
    assert m["docs_checksum"] == sub.docs_checksum and idx.embeddings.shape[1] == 384
    assert np.allclose(np.linalg.norm(idx.embeddings, axis=1), 1.0, atol=1e-4)
    res = DenseRetriever(idx, k=len(sub.docs))(sub.queries)
    assert evaluate_run(res, sub.qrels, ["nDCG@10"])["nDCG@10"] > random_ndcg(res, sub.qrels) + 0.2


def test_dense_index_is_reused_and_corruption_detected(subset_index, tmp_path):
    import shutil

    from irrobust.index.dense import DenseIndex, dense_index

    sub, idx = subset_index
    before = (idx.directory / "embeddings.npy").stat().st_mtime_ns
    os.environ["IRROBUST_INDEXES"] = str(idx.directory.parents[2])
    try:
        again = dense_index(sub, progress=False)
    finally:
        os.environ.pop("IRROBUST_INDEXES", None)
    assert (again.directory / "embeddings.npy").stat().st_mtime_ns == before
    bad = tmp_path / "dense-minilm"
    shutil.copytree(idx.directory, bad)
    arr = np.load(bad / "embeddings.npy")
    arr[0, 0] += 0.5
    np.save(bad / "embeddings.npy", arr)
    with pytest.raises(ModelError, match="checksum"):
        DenseIndex(bad)


def test_dense_reranker_text_matches_stored_embeddings(subset_index):
    from irrobust.rankers.dense import DenseReranker, DenseRetriever

    sub, idx = subset_index
    res = DenseRetriever(idx, k=5)(sub.queries.head(3))
    stored = DenseReranker(index=idx)(res).set_index(["qid", "docno"])["score"]
    with_text = DenseReranker()(res.assign(text=sub.docs.texts(res["docno"].tolist()))).set_index(["qid", "docno"])
    np.testing.assert_allclose(with_text["score"].loc[stored.index].to_numpy(), stored.to_numpy(), atol=1e-4)
    np.testing.assert_allclose(stored.loc[res.set_index(["qid", "docno"]).index].to_numpy(), res["score"], atol=1e-4)


def test_hnsw_agrees_with_flat(subset_index):
    from irrobust.index.dense import DenseIndex

    sub, idx = subset_index
    hnsw = DenseIndex(idx.directory, method="hnsw", verify=False)
    q = idx.encode_queries(sub.queries["query"].tolist())
    _, flat_top = idx.search(q, 5)
    _, hnsw_top = hnsw.search(q, 5)
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(flat_top, hnsw_top, strict=True)])
    assert overlap >= 0.9


@pytest.mark.slow
def test_dense_scifact_matches_published_beir_number(scifact_test):
    from irrobust.evaluate.measures import evaluate_run
    from irrobust.rankers.dense import DenseRetriever

    res = DenseRetriever("beir/scifact", k=100)(scifact_test.queries)
    assert abs(evaluate_run(res, scifact_test.qrels, ["nDCG@10"])["nDCG@10"] - 0.645) < 0.02
