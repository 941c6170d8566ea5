"""Robustness tasks 1-3 through the pipeline runner, on Cranfield with the lexical rankers (real queries)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from irrobust.cli import main

PIPE = """\
name: rob-mini
seed: 3
datasets: [cranfield]
measures: [nDCG@10, R@100]
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 100}}]
  - name: ql
    stages: [{ranker: ql, params: {k: 100}}]
tasks:
  variance: {worst_fractions: [0.1, 0.25], bootstrap: 500}
  shifts:
    items:
      - {shift: typos, params: {rate: 0.5}}
      - {shift: reorder}
      - {shift: keywordize}
  transfer:
    targets: [cisi]
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory, seed):
    tmp = tmp_path_factory.mktemp("rob")
    (tmp / "p.yaml").write_text(PIPE)
    assert main(["run", str(tmp / "p.yaml"), "--out", str(tmp / "run"), "--quiet"]) == 0
    return tmp / "run"


def test_shifted_runs_are_paired_rows_of_the_long_table(run):
    table = pd.read_csv(run / "results.csv", dtype={"qid": str})
    shifted = table[table.task == "query-shift"]
    assert set(shifted.condition) == {"typos", "reorder", "keywordize"}
    clean = table[(table.task == "effectiveness") & (table.dataset == "cranfield")]
    for cond, grp in shifted.groupby("condition"):
        assert set(grp.qid) == set(clean.qid), cond  # every query evaluated, paired by qid
    # BM25 is a bag of words: reordering the query cannot change its ranking
    bm25 = table[(table.system == "bm25") & (table.measure == "nDCG@10")]
    reorder = bm25[bm25.condition == "reorder"].set_index("qid").value
    base = bm25[(bm25.condition == "clean") & (bm25.dataset == "cranfield")].set_index("qid").value
    assert (reorder.sort_index() - base.sort_index()).abs().max() < 1e-12
    # typos at rate 0.5 hurt BM25 on average
    typos = bm25[bm25.condition == "typos"].value.mean()
    assert typos < base.mean() - 0.02


def test_report_has_every_task_plots_and_the_test_named(run):
    report = (run / "report.md").read_text()
    for part in ("## Task 1", "## Task 2", "## Scorecard", "queries changed", "Student t-test", "Holm",
                 "plots/variance-cranfield.png", "plots/shifts-cranfield.png", "worst 10%"):  # fmt: skip
        assert part in report, part
    assert (run / "plots" / "shifts-cranfield.png").stat().st_size > 5000
    html = (run / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3  # variance on cranfield and cisi, shifts on cranfield
    manifest = json.loads((run / "manifest.json").read_text())
    changed = {s["condition"]: s["changed"] for s in manifest["shifts"]}
    assert 0 < changed["keywordize"] <= 225 and changed["reorder"] > 150
    # transfer to a collection without training data: evaluated (learned parts would train on the source)
    summary = pd.DataFrame(json.loads((run / "summary.json").read_text()))
    assert {"cranfield", "cisi"} <= set(summary.dataset)


def test_html_report_shows_its_plots_in_a_browser(run, tmp_path):
    """Headless Chromium (Debian's, installed by scripts/setup.sh) renders the report with the plots visible."""
    import shutil
    import subprocess

    from PIL import Image

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (scripts/setup.sh installs it when run as root)")
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1200,4000", (run / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    img = Image.open(shot).convert("RGB")
    blue = sum(1 for px in img.getdata() if abs(px[0] - 31) < 12 and abs(px[1] - 119) < 12 and abs(px[2] - 180) < 12)
    assert blue > 2000, f"the plots' bars and boxes (matplotlib blue) are not visible: {blue} pixels"


def test_systems_significantly_worse_than_the_baseline_cannot_win_the_scorecard(run):
    from irrobust.evaluate.scorecard import weaker_than_baseline

    comp = pd.read_csv(run / "significance.csv")
    weak = weaker_than_baseline(comp, "nDCG@10")
    clean = comp[(comp.task == "effectiveness") & (comp.measure == "nDCG@10")]
    for ds, grp in clean.groupby("dataset"):
        assert set(weak.get(ds, [])) == set(grp[grp.significant & (grp.delta < 0)].system)
    report = (run / "report.md").read_text()
    card = report.split("## Scorecard")[1].split("\n## ")[0]
    rows = [line.split("|")[1:4] for line in card.splitlines() if line.startswith("| T")]
    assert rows
    for _, ds, winner in rows:
        assert winner.strip() not in weak.get(ds.strip(), [])
    assert ("Not eligible to win" in card) == bool(weak)
    # a constructed comparison: a significantly worse system is listed, a better or n.s. one is not
    fake = pd.DataFrame({"dataset": "d", "task": "effectiveness", "condition": "clean", "measure": "nDCG@10",
                         "system": ["a", "b", "c"], "delta": [-0.1, -0.1, 0.2], "significant": [True, False, True]})
    assert weaker_than_baseline(fake, "nDCG@10") == {"d": ["a"]}
