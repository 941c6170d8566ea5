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
def knrm_reranker(scifact, small_knrm_dir):
    """The suite's small KNRM (tests/conftest.py) over SciFact's documents."""
    from irrobust.rankers.knrm import KNRMReranker

    return KNRMReranker(small_knrm_dir, docs=scifact.docs)


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


@pytest.fixture(scope="session")
def ltr_reranker(scifact_index, tmp_path_factory):
    """A small LambdaMART (lexical features, 30 training queries) trained in a temporary model directory.

    Lexical features only: the dense feature needs the whole collection's MiniLM embeddings (a 5,183-document
    encoding on a fresh checkout)."""
    import irrobust.rankers.ltr as ltr

    root = tmp_path_factory.mktemp("ltr-models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ltr, "model_dir", lambda collection, name: root / collection / "models" / name)
        model = ltr.train_ltr("beir/scifact/train", name="attack-ltr", k=10, max_queries=30, n_estimators=30,
                              early_stopping_rounds=10, seed=7,
                              features=("bm25", "ql", "tfidf", "doc_len", "query_len", "coverage", "idf_sum",
                                        "idf_max"))  # fmt: skip
    return ltr.LTRReranker(model, index=scifact_index)


@pytest.fixture(scope="session")
def ce_reranker(scifact, small_ce_dir):
    """The suite's tiny cross-encoder (tests/conftest.py) over SciFact's documents."""
    from irrobust.rankers.cross_encoder import CrossEncoderReranker

    return CrossEncoderReranker(small_ce_dir, docs=scifact.docs)
