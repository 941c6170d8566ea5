"""Seen / unseen split from real qrels, the comparison inside each group, and document-disjoint training queries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from irrobust.data.overlap import disjoint_training_qids, seen_split
from irrobust.evaluate.memorization import seen_unseen_comparison
from irrobust.report.memorization import memorization_section


@pytest.fixture(scope="module")
def scifact(seed):
    import irrobust as ir

    return ir.dataset("beir/scifact/test"), ir.dataset("beir/scifact/train")


def test_scifact_overlap_from_the_qrels(scifact):
    """The figures of the audit, computed from the qrels (nothing hard-coded in the code)."""
    test, train = scifact
    split = seen_split(test.qrels, train.qrels)
    assert (len(split.seen), len(split.unseen)) == (196, 104)
    assert (split.shared_docs, split.relevant_docs) == (181, 283)
    assert not set(split.seen) & set(split.unseen)
    keep = disjoint_training_qids(train.qrels, test.qrels)
    assert 0 < len(keep) < len(train.queries)
    relevant_test = set(test.qrels.loc[test.qrels.label > 0, "docno"].astype(str))
    kept = train.qrels[train.qrels.qid.astype(str).isin(keep) & (train.qrels.label > 0)]
    assert not set(kept.docno.astype(str)) & relevant_test  # truly document-disjoint


def test_a_memorising_system_wins_on_seen_and_loses_on_unseen(scifact):
    test, train = scifact
    split = seen_split(test.qrels, train.qrels)
    rng = np.random.default_rng(0)
    qids = list(split.seen) + list(split.unseen)
    base = rng.uniform(0.3, 0.7, len(qids))
    memo = np.where(np.isin(qids, split.seen), base + 0.2, base - 0.1) + rng.normal(0, 0.02, len(qids))
    rows = [{"dataset": "beir/scifact/test", "system": s, "task": "effectiveness", "condition": "clean", "qid": q,
             "measure": "nDCG@10", "value": v} for s, vals in (("bm25", base), ("knrm", memo))
            for q, v in zip(qids, vals, strict=True)]  # fmt: skip
    out = seen_unseen_comparison(pd.DataFrame(rows), {"beir/scifact/test": split}, "bm25", "nDCG@10")
    knrm = out[out.system == "knrm"].set_index("group")
    assert knrm.loc["seen", "significant"] and knrm.loc["seen", "delta"] > 0
    assert knrm.loc["unseen", "significant"] and knrm.loc["unseen", "delta"] < 0
    assert knrm.loc["seen", "queries"] == 196 and knrm.loc["unseen", "queries"] == 104
    md = memorization_section(out, {"beir/scifact/test": split}, "nDCG@10", "t", "holm", 0.05)
    assert "196 seen and 104 unseen" in md and "▲" in md and "▼" in md


def test_training_queries_document_disjoint(scifact):
    from irrobust.rankers.knrm import KNRMConfig
    from irrobust.rankers.training import training_queries

    test, train = scifact
    all_q = training_queries(train, KNRMConfig())
    disjoint = training_queries(train, KNRMConfig(disjoint_from="beir/scifact/test"))
    assert len(all_q) == len(train.queries)
    assert set(disjoint.qid) == set(disjoint_training_qids(train.qrels, test.qrels)) & set(train.queries.qid)
    # the option is a training setting: models trained with it get their own name
    from irrobust.rankers.knrm import KNRMReranker

    assert KNRMReranker.auto_name(KNRMConfig()) == "knrm-minilm"
    assert KNRMReranker.auto_name(KNRMConfig(disjoint_from="beir/scifact/test")) != "knrm-minilm"


@pytest.mark.slow
def test_report_of_a_learned_ranker_has_the_split(tmp_path, seed):
    """A pipeline with a learned ranker writes seen_unseen.csv and the report section (computed from the qrels)."""
    import subprocess
    import sys

    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(
        "name: memo\ndatasets: [beir/scifact/test]\nmeasures: [nDCG@10]\nbaseline: bm25\nmax_queries: 30\n"
        "systems:\n  - name: bm25\n    stages: [{ranker: bm25, params: {k: 50}}]\n"
        "  - name: ltr\n    stages: [{ranker: bm25, params: {k: 50}, cutoff: 20}, {ranker: ltr, params: "
        "{features: [bm25, ql, doc_len, coverage], k: 20, max_queries: 40, n_estimators: 20, model: ltr-memo-test}}]\n"
    )
    done = subprocess.run([sys.executable, "-m", "irrobust.cli", "run", str(pipeline), "--out", str(tmp_path / "out"),
                           "--quiet"], capture_output=True, text=True, timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = pd.read_csv(tmp_path / "out" / "seen_unseen.csv")
    assert set(rows.group) == {"seen", "unseen"} and set(rows.system) == {"bm25", "ltr"}
    assert rows.groupby("group")["queries"].max().sum() <= 30
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Seen vs unseen relevant documents" in report
