"""The results object's summary: per task, the most robust system, its lead with a bootstrap CI, the sample sizes.

A constructed results table where one system ("steady") is more robust than the other ("shaky") on every task,
with equal clean means (so neither is excluded as significantly weaker than the baseline).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from irrobust.evaluate.results import VarianceSettings, build_results
from irrobust.evaluate.scorecard import ScorecardEntry, statistic, summary_lines
from irrobust.evaluate.table import COLUMNS

N = 40
QIDS = [str(q) for q in range(N)]


def _table(invert: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    steady = 0.5 + rng.uniform(-0.05, 0.05, N)
    shaky = np.where(np.arange(N) % 2 == 0, 0.1, 0.9) + rng.uniform(-0.02, 0.02, N)
    shaky = shaky - shaky.mean() + steady.mean()  # the same clean mean
    names = ("shaky", "steady") if invert else ("steady", "shaky")
    rows = []
    for name, clean, drop, sr, crq in ((names[0], steady, 0.05, 0.2, 0.9), (names[1], shaky, 0.4, 0.8, 0.3)):
        for i, q in enumerate(QIDS):
            rows.append(("d", name, "effectiveness", "clean", q, "nDCG@10", float(clean[i])))
            rows.append(("d", name, "query-shift", "typos", q, "nDCG@10", float(clean[i] * (1 - drop))))
            hit = float(rng.uniform() < sr)
            rows.append(("d", name, "ranking-attack", "tfidf/easy", q, "success", hit))
            rows.append(("d", name, "term-spamming", "query_stuffing/easy", q, "success", float(rng.uniform() < sr)))
            for k in (1, 2, 3):
                rows.append(("d", name, "certify", "max-bernstein-Rall", q, f"CRQ@{k}", float(rng.uniform() < crq)))
    table = pd.DataFrame(rows, columns=COLUMNS)
    details = pd.DataFrame([{"dataset": "d", "system": s, "task": t, "qid": q, "docno": f"doc{q}", "set": "easy"}
                            for s in names for t in ("ranking-attack", "term-spamming") for q in QIDS])  # fmt: skip
    certs = pd.DataFrame([{"dataset": "d", "system": s, "kind": "bm25", "qid": q, "n_samples": 64,
                           "samples_per_doc": 64, "alpha": 0.05, "adaptive": False, "seconds": 0.1}
                          for s in names for q in QIDS])  # fmt: skip
    return table, details, certs


def _results(invert: bool = False):
    table, details, certs = _table(invert)
    return build_results("t", "", table, baseline="steady", measure="nDCG@10",
                         families={"steady": "lexical", "shaky": "dense"}, variance=VarianceSettings(bootstrap=200),
                         shifts=True, attack_details=details, certify_details=certs, seed=1,
                         summary_bootstrap=500)  # fmt: skip


TASKS = ["T1 variance", "T2 query shifts", "T4 word-substitution attacks", "T5 term spamming",
         "Certified robustness (CertDR)"]  # fmt: skip


def test_summary_names_the_more_robust_system_on_every_task_with_ci_and_sizes():
    res = _results()
    by_task = {line.task: line for line in res.summary}
    assert list(by_task) == TASKS
    for task, line in by_task.items():
        assert line.winner == "steady", task
        assert line.runner_up == "shaky" and line.family == "lexical"
        assert line.margin > 0 and line.ci_low > 0 and line.ci_low <= line.margin <= line.ci_high, task
        assert line.significant and line.queries == N and line.systems == ("steady", "shaky")
    assert by_task["T4 word-substitution attacks"].targets == N and by_task["T5 term spamming"].targets == N
    assert by_task["Certified robustness (CertDR)"].certified == N
    assert by_task["T1 variance"].targets is None and by_task["T1 variance"].certified is None
    # the summary agrees with the scorecard
    assert [r["winner"] for r in res.scorecard.rows] == ["steady"] * len(TASKS)


def test_summary_follows_the_data_when_the_systems_swap():
    assert {line.winner for line in _results(invert=True).summary} == {"shaky"}


def test_margin_is_the_difference_of_the_scorecard_values():
    """The bootstrap recomputes each criterion from the per-query samples: on all queries it equals the scorecard's."""
    res = _results()
    for entry in res.scorecard.entries:
        values = entry.values.set_index("system")["value"]
        for system, frame in entry.samples.items():
            assert statistic(entry.statistic, frame) == pytest.approx(float(values[system]), abs=1e-12), entry.task
    for line in res.summary:
        sign = -1 if line.task == "Certified robustness (CertDR)" else 1
        assert line.margin == pytest.approx(sign * (line.runner_up_value - line.value), abs=1e-12)


def test_a_lead_within_noise_is_not_significant():
    rng = np.random.default_rng(3)
    a = pd.DataFrame({"c": rng.uniform(size=30)}, index=QIDS[:30])
    b = pd.DataFrame({"c": a["c"].to_numpy()[::-1]}, index=QIDS[:30])  # the same values, another order
    b.iloc[0, 0] += 0.01
    entry = ScorecardEntry.from_samples("T5 term spamming", "d", {"a": a, "b": b}, "mean", "lowest SR", True)
    (line,) = summary_lines([entry], {}, n_boot=500)
    assert line.winner == "a" and not line.significant and line.ci_low < 0 < line.ci_high


def test_systems_significantly_worse_than_the_baseline_are_not_eligible():
    table, _, _ = _table()
    weak = table[(table.system == "shaky") & (table.task == "effectiveness")].assign(system="weak")
    weak["value"] = weak["value"] * 0.0 + 0.01  # constant and far below the baseline: no spread, cannot win T1
    res = build_results("t", "", pd.concat([table, weak]), baseline="steady", measure="nDCG@10", families={},
                        variance=VarianceSettings(bootstrap=200), summary_bootstrap=200)  # fmt: skip
    line = res.summary[0]
    assert line.task == "T1 variance" and all("weak" not in x.systems for x in res.summary)
    assert res.scorecard.excluded == {"d": ["weak"]} and line.excluded == ("weak",) and line.winner == "steady"


def test_ties_and_single_systems():
    same = pd.DataFrame({"c": [0.5, 0.5]}, index=["1", "2"])
    tie = ScorecardEntry.from_samples("T5", "d", {"a": same, "b": same.copy()}, "mean", "sr", True)
    alone = ScorecardEntry.from_samples("T4", "d", {"a": same}, "mean", "sr", True)
    t, s = summary_lines([tie, alone], {"a": "lexical"}, n_boot=100)
    assert t.winner == "tie: a = b" and not t.significant and t.family == ""
    assert s.winner == "a" and s.runner_up is None and s.margin is None
