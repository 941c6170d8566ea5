"""The certification section of the report: CRQ tables, cost table, scorecard criterion."""

from __future__ import annotations

import pandas as pd

from irrobust.evaluate.certify import certify_results
from irrobust.report.certify import certify_sections

COLS = ["dataset", "system", "task", "condition", "qid", "measure", "value"]


def _rows(system, cond, per_k):
    return [("d", system, "certify", cond, q, f"CRQ@{k}", float(v)) for k, vals in per_k.items()
            for q, v in zip(("1", "2"), vals, strict=True)]  # fmt: skip


def test_scorecard_uses_mean_crq_up_to_10_of_the_tightest_rule_and_smallest_budget():
    rows = (_rows("bm25", "max-bernstein-R1", {1: [1, 1], 2: [1, 0], 10: [0, 0], 20: [0, 0]})
            + _rows("knrm", "max-bernstein-R1", {1: [1, 0], 2: [0, 0], 10: [0, 0], 20: [1, 1]})
            + _rows("bm25", "max-bernstein-Rall", {1: [0, 0], 2: [0, 0], 10: [0, 0], 20: [0, 0]})
            + _rows("knrm", "paper-hoeffding-R1", {1: [1, 1], 2: [1, 1], 10: [1, 1], 20: [1, 1]}))  # fmt: skip
    details = pd.DataFrame({"dataset": "d", "system": ["bm25", "bm25", "knrm"], "kind": ["bm25", "bm25", "knrm"],
                            "qid": ["1", "2", "1"], "n_samples": [512, 512, 64], "samples_per_doc": [512, 16, 64],
                            "alpha": 0.05, "adaptive": True, "seconds": [1.5, 0.5, 60.0]})  # fmt: skip
    results = certify_results(pd.DataFrame(rows, columns=COLS), details)
    parts = certify_sections(results, {"bm25": "lexical", "knrm": "interaction"})
    entry = results[0].entry
    assert entry.criterion == "highest mean CRQ@1–10 (max-bernstein-R1)" and not entry.lower_is_better
    # bm25: (1 + 0.5 + 0) / 3; knrm: (0.5 + 0 + 0) / 3 — K = 20 and the paper rule are not used
    assert entry.values.set_index("system")["value"].round(4).to_dict() == {"bm25": 0.5, "knrm": 0.1667}
    text = parts[0]
    assert "| bm25 | sampled | 512 | 264.0 | 0.05 | adaptive | 2 | 2.0 |" in text
    assert "| knrm | sampled | 64 | 64.0 | 0.05 | adaptive | 1 | 60.0 |" in text


def test_report_says_what_each_rule_certifies():
    from irrobust.report.certify import PAPER_NOTE

    rows = _rows("bm25", "paper-hoeffding-Rall", {1: [1, 0]}) + _rows("bm25", "max-bernstein-Rall", {1: [0, 0]})
    parts = certify_sections(certify_results(pd.DataFrame(rows, columns=COLS)), {"bm25": "lexical"})
    text = parts[0]
    table_end = text.index("| bm25 | lexical | max-bernstein-Rall |")
    assert PAPER_NOTE in text[table_end:]  # right under the CRQ table with the paper rule's numbers
    assert "only for the compared pair" in text and "frozen index" in text
    # no paper-rule rows, no caveat under the table
    parts2 = certify_sections(certify_results(pd.DataFrame(_rows("bm25", "max-bernstein-Rall", {1: [0, 0]}),
                                                           columns=COLS)), {})  # fmt: skip
    assert PAPER_NOTE not in parts2[0]
