"""Tasks 4-5 compare systems with each other, paired over queries (the unit of significance: each system's targets
come from its own ranked list, so only the queries pair)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from irrobust.evaluate.attacks import attack_results, paired_system_table
from irrobust.evaluate.significance import holm
from irrobust.report.attacks import attack_sections

COLUMNS = ["dataset", "system", "task", "condition", "qid", "measure", "value"]


def frame(values: dict[str, np.ndarray], condition: str = "tfidf/easy", task: str = "ranking-attack",
          skip: dict[str, set[int]] | None = None) -> pd.DataFrame:  # fmt: skip
    rows = []
    for system, vals in values.items():
        order = range(len(vals)) if system != "ce" else reversed(range(len(vals)))  # rows in different orders
        rows += [("d", system, task, condition, f"q{q}", "boosted_ranks", float(vals[q])) for q in order
                 if q not in (skip or {}).get(system, set())]  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)


def test_systems_pair_by_query_against_the_reference():
    """Each system against the reference on the queries both have: scipy's Wilcoxon on the aligned vectors, the
    difference system − reference, Holm over the systems of one attack and measure."""
    rng = np.random.default_rng(1)
    vals = {"bm25": rng.uniform(0, 4, 20), "ce": rng.uniform(2, 9, 20), "knrm": rng.uniform(0, 5, 20)}
    out = paired_system_table(frame(vals, skip={"knrm": {0, 1}}), "bm25")
    assert out[["reference", "system", "queries"]].values.tolist() == [["bm25", "ce", 20], ["bm25", "knrm", 18]]
    ce = out.iloc[0]
    assert abs(ce.p - wilcoxon(vals["ce"], vals["bm25"]).pvalue) < 1e-12
    assert abs(ce["diff"] - (vals["ce"] - vals["bm25"]).mean()) < 1e-12 and ce["diff"] > 0
    kn = out.iloc[1]
    assert abs(kn.p - wilcoxon(vals["knrm"][2:], vals["bm25"][2:]).pvalue) < 1e-12
    assert out.p_holm.tolist() == holm(out.p.tolist())


def test_reference_not_attacked_falls_back_and_report_renders():
    """A reference that was not attacked (e.g. the baseline left out of tasks.attacks.systems) falls back to the
    first attacked system; task 5 gets the comparison too; the report shows it with the significance mark."""
    vals = {"ce": np.arange(12, dtype=float) + 5, "dense": np.zeros(12)}
    t = frame(vals, condition="query_stuffing/easy", task="term-spamming")
    out = paired_system_table(t, "bm25")
    assert out[["reference", "system"]].values.tolist() == [["ce", "dense"]] and out["diff"].iloc[0] < 0
    res = attack_results(t, reference="bm25")[0]
    assert res.task == "term-spamming" and len(res.systems_paired) == 1
    def row(alpha: float) -> str:
        text = attack_sections([res], {}, alpha=alpha)[0]
        return next(line for line in text.splitlines() if line.startswith("| query_stuffing/easy | dense vs ce | boost |"))

    assert "★" in row(0.05) and "★" not in row(1e-9)
