"""Fixtures of the attack tests: real SciFact queries, their BM25 top-100 with texts, the KNRM ranker."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def scifact(seed):
    import irrobust as ir

    return ir.dataset("beir/scifact/test")


@pytest.fixture(scope="session")
def scifact_index(scifact):
    import irrobust as ir

    return ir.lucene_index(scifact.collection, progress=False)


@pytest.fixture(scope="session")
def bm25_lists(scifact, scifact_index):
    """BM25 top-100 (with texts and pyserini scores) of three real SciFact test queries."""
    import irrobust as ir

    queries = scifact.queries.sort_values("qid").head(3)
    run = ir.BM25(scifact_index, k=100)(queries)
    out = []
    for qid, grp in run.groupby("qid", sort=True):
        grp = grp.sort_values("rank")
        out.append({"qid": qid, "query": grp["query"].iloc[0], "docnos": grp["docno"].tolist(),
                    "texts": scifact.docs.texts(grp["docno"].tolist()), "run_scores": grp["score"].to_numpy()})
    return out


@pytest.fixture(scope="session")
def knrm_reranker(scifact, tmp_path_factory):
    """The project's trained KNRM (whatever its training config); without one, a small KNRM trained in a temp dir.

    Never (re)trains the shared model directory: that belongs to the pipelines' configuration.
    """
    from irrobust.errors import ModelError
    from irrobust.rankers.knrm import KNRMConfig, KNRMReranker, train_knrm

    try:
        return KNRMReranker.from_dataset("beir/scifact/train", docs=scifact.docs, train=False)
    except ModelError:
        path = train_knrm("beir/scifact/train", config=KNRMConfig(max_queries=60, epochs=1, threads=1),
                          directory=tmp_path_factory.mktemp("knrm") / "knrm-small", progress=False)
        return KNRMReranker(path, docs=scifact.docs)


@pytest.fixture(scope="session")
def table(seed):
    from irrobust.data.synonyms import load_counterfitted

    return load_counterfitted()


def make_input(lst: dict, scores: np.ndarray, rank: int, seed: int = 0):
    """AttackInput for the document at ``rank`` (1-based) of the list ordered by ``scores``."""
    from irrobust.attacks import AttackInput

    order = np.argsort(-scores, kind="stable")
    docnos = [lst["docnos"][i] for i in order]
    texts = [lst["texts"][i] for i in order]
    i = rank - 1
    return AttackInput(lst["qid"], lst["query"], docnos[i], texts[i], docnos, texts, scores[order], i, seed)
