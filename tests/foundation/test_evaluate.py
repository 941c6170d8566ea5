"""Measures against hand-computed values, the long table, significance and correction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from irrobust.errors import IrrobustError
from irrobust.evaluate import compare, evaluate_run, holm, long_rows, paired_test, parse_measure, per_query


def _run(rows):
    return pd.DataFrame(rows, columns=["qid", "docno", "score", "rank"])


def test_measures_match_hand_computation():
    qrels = pd.DataFrame({"qid": ["1", "1", "2", "3"], "docno": ["a", "c", "x", "z"], "label": [2, 1, 1, 0]})
    run = _run([("1", "b", 3.0, 1), ("1", "a", 2.0, 2), ("1", "c", 1.0, 3), ("2", "y", 1.0, 1)])
    pq = per_query(run, qrels, ["nDCG@10", "RR@10", "R@2", "MAP@100"]).set_index(["qid", "measure"]).value
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert pq[("1", "nDCG@10")] == pytest.approx(dcg / idcg)
    assert pq[("1", "RR@10")] == pytest.approx(0.5)
    assert pq[("1", "R@2")] == pytest.approx(0.5)
    assert pq[("1", "MAP@100")] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert pq[("2", "nDCG@10")] == 0.0
    assert "3" not in set(pq.index.get_level_values(0))  # no relevant documents: not a judged query


def test_rank_order_decides_not_raw_scores():
    qrels = pd.DataFrame({"qid": ["1"], "docno": ["b"], "label": [1]})
    run = _run([("1", "a", 1.0, 1), ("1", "b", 1.0, 2)])  # tie broken on docno by add_ranks
    assert evaluate_run(run, qrels, ["RR@10"])["RR@10"] == 0.5


def test_measure_names():
    assert parse_measure("ndcg@10") == ("nDCG@10", "ndcg@10")
    assert parse_measure("AP") == ("AP", "map")
    for bad in ("nDCG@0", "foo@3", "R"):
        with pytest.raises(IrrobustError):
            parse_measure(bad)


def test_paired_tests_agree_with_scipy_and_holm_is_monotone():
    rng = np.random.default_rng(3)
    a = rng.random(50)
    b = a + rng.normal(0.05, 0.1, 50)
    assert paired_test(b, a, "t")[1] == pytest.approx(stats.ttest_rel(b, a).pvalue)
    assert paired_test(b, a, "wilcoxon")[1] == pytest.approx(stats.wilcoxon(b, a).pvalue)
    p_rand = paired_test(b, a, "randomization")[1]
    assert abs(p_rand - stats.ttest_rel(b, a).pvalue) < 0.02
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])


def test_compare_pairs_by_query_and_corrects_per_family():
    base = pd.DataFrame({"qid": list("abcdef"), "measure": "m", "value": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]})
    better = base.assign(value=base.value + [0.2, 0.21, 0.19, 0.2, 0.22, 0.18])
    same = base.sample(frac=1, random_state=0)  # shuffled rows: pairing must be by qid
    table = pd.concat([long_rows(base, "d", "base"), long_rows(better, "d", "better"), long_rows(same, "d", "same")])
    out = compare(table, "base").set_index("system")
    assert out.loc["better", "significant"] and not out.loc["same", "significant"]
    assert out.loc["same", "delta"] == pytest.approx(0.0)
    assert out.loc["better", "p_adjusted"] == pytest.approx(min(1, 2 * out.loc["better", "p_value"]))
