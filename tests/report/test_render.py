"""The report renders the results object: it opens with the summary, and markdown, HTML and JSON say the same."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from irrobust.evaluate.results import VarianceSettings, build_results
from irrobust.evaluate.table import COLUMNS
from irrobust.report import write_reports


def _results():
    rng = np.random.default_rng(5)
    qids = [str(q) for q in range(30)]
    steady = 0.5 + rng.uniform(-0.05, 0.05, 30)
    shaky = np.where(np.arange(30) % 2 == 0, 0.1, 0.9)
    shaky = shaky - shaky.mean() + steady.mean()
    rows = []
    for name, clean, drop, sr in (("steady", steady, 0.05, 0.1), ("shaky", shaky, 0.4, 0.9)):
        for i, q in enumerate(qids):
            rows += [("d", name, "effectiveness", "clean", q, "nDCG@10", float(clean[i])),
                     ("d", name, "query-shift", "typos", q, "nDCG@10", float(clean[i] * (1 - drop))),
                     ("d", name, "ranking-attack", "tfidf/easy", q, "success", float(rng.uniform() < sr))]  # fmt: skip
    details = pd.DataFrame([{"dataset": "d", "system": s, "task": "ranking-attack", "qid": q, "docno": "x",
                             "set": "easy"} for s in ("steady", "shaky") for q in qids])  # fmt: skip
    shift_stats = pd.DataFrame([{"dataset": "d", "condition": "typos", "shift": "typos", "queries": 30,
                                 "changed": 28, "fallbacks": 0}])  # fmt: skip
    return build_results("demo <run>", "A constructed run.", pd.DataFrame(rows, columns=COLUMNS), baseline="steady",
                         measure="nDCG@10", families={"steady": "lexical", "shaky": "dense"},
                         variance=VarianceSettings(bootstrap=200), shifts=True, shift_stats=shift_stats,
                         attack_details=details, seed=3, summary_bootstrap=300)  # fmt: skip


def test_the_report_opens_with_the_summary_and_every_format_agrees(tmp_path):
    res = _results()
    md = write_reports(res, tmp_path)
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings[0] == "## Summary — which system is most robust" and headings[1] == "## Effectiveness"
    summary = md.split("## Summary")[1].split("\n## ")[0]
    bullets = [line for line in summary.splitlines() if line.startswith("- ")]
    assert len(bullets) == 3  # T1, T2, T4
    for bullet in bullets:
        assert "**steady** (lexical) is the most robust" in bullet and "for shaky" in bullet
        assert "95% CI [" in bullet and "★" in bullet and "30 queries" in bullet and "2 systems" in bullet
    assert "30 attacked targets per system" in bullets[2]
    html = (tmp_path / "report.html").read_text()
    assert html.index("<h2>Summary") < html.index("<h2>Effectiveness") and "demo &lt;run&gt;" in html
    assert html.count("<li>") >= 3 and (tmp_path / "plots" / "variance-d.png").is_file()
    data = json.loads((tmp_path / "report.json").read_text())
    assert [s["winner"] for s in data["summary"]] == ["steady"] * 3
    assert [s["queries"] for s in data["summary"]] == [30] * 3
    assert data["variance"]["stats"][0]["system"] == "steady"


def test_a_run_without_robustness_tasks_has_no_summary(tmp_path):
    rows = [("d", s, "effectiveness", "clean", str(q), "nDCG@10", v) for s, v in (("a", 0.5), ("b", 0.6))
            for q in range(5)]  # fmt: skip
    res = build_results("plain", "", pd.DataFrame(rows, columns=COLUMNS), baseline="a", measure="nDCG@10",
                        families={})  # fmt: skip
    md = write_reports(res, tmp_path)
    assert "## Summary" not in md and md.splitlines()[2] == "## Effectiveness"
