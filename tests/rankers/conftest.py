"""Shared fixtures for the neural-ranker tests: real SciFact splits and small, quickly trained models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def scifact_train():
    import irrobust as ir

    return ir.dataset("beir/scifact/train")


@pytest.fixture(scope="session")
def scifact_test():
    import irrobust as ir

    return ir.dataset("beir/scifact/test")


@pytest.fixture(scope="session")
def heldout_run(scifact_test):
    """BM25 top-20 of 40 held-out SciFact test queries, with document texts."""
    import irrobust as ir

    queries = scifact_test.queries.sort_values("qid").head(40)
    run = ir.BM25(ir.lucene_index(scifact_test.collection), k=20)(queries)
    return run.assign(text=scifact_test.docs.texts(run["docno"].tolist()))


def _random_ndcg(run: pd.DataFrame, qrels: pd.DataFrame, repeats: int = 20, seed: int = 0) -> float:
    """Mean nDCG@10 of random orderings of the same candidates (the random-ranker baseline)."""
    from irrobust.core.transformer import add_ranks
    from irrobust.evaluate.measures import evaluate_run

    rng = np.random.default_rng(seed)
    vals = [
        evaluate_run(add_ranks(run.assign(score=rng.random(len(run)))), qrels, ["nDCG@10"])["nDCG@10"]
        for _ in range(repeats)
    ]
    return float(np.mean(vals))


@pytest.fixture(scope="session")
def random_ndcg():
    """The random-ranker baseline: ``random_ndcg(run, qrels) -> mean nDCG@10 of shuffled candidates``."""
    return _random_ndcg
