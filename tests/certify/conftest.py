"""Shared fixtures of the certification tests: real SciFact queries/documents and the counter-fitted table."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def scifact(seed):
    import irrobust as ir

    return ir.dataset("beir/scifact/test")


@pytest.fixture(scope="session")
def sets(scifact):
    from irrobust.certify.perturb import PerturbationSets

    return PerturbationSets.from_dataset(scifact)


@pytest.fixture(scope="session")
def lists(scifact):
    """BM25 top-12 of 3 real SciFact test queries, with texts: [(qid, query, docnos, texts, scores)]."""
    import irrobust as ir

    queries = scifact.queries.sort_values("qid").head(3)
    run = ir.BM25(ir.lucene_index(scifact.collection, progress=False), k=12)(queries)
    out = []
    for qid, grp in run.groupby("qid", sort=True):
        grp = grp.sort_values("rank")
        docnos = grp["docno"].astype(str).tolist()
        out.append((str(qid), str(grp["query"].iloc[0]), docnos, scifact.docs.texts(docnos),
                    grp["score"].to_numpy(float)))  # fmt: skip
    return out


@pytest.fixture(scope="session")
def lucene(scifact):
    from irrobust.rankers.lucene_scoring import lucene_scorer

    return lucene_scorer(scifact.collection)


@pytest.fixture(scope="session")
def knrm(tmp_path_factory):
    """A small KNRM trained here (20 SciFact training queries, 1 epoch): the fast-path tests need a trained model's
    weights, not a good one, and must run on a fresh clone without anything under indexes/."""
    import torch

    import irrobust as ir
    from irrobust.rankers.knrm import KNRMConfig, KNRMScorer, train_knrm
    from irrobust.rankers.training import NegativesConfig

    torch.set_num_threads(1)
    cfg = KNRMConfig(max_queries=20, epochs=1, negatives=NegativesConfig(n_neg=2, depth=30), seed=1, threads=1)
    path = train_knrm(ir.dataset("beir/scifact/train"), name="knrm-certify-test", config=cfg, progress=False,
                      directory=tmp_path_factory.mktemp("knrm") / "knrm-certify-test")  # fmt: skip
    return KNRMScorer(path, threads=1)
