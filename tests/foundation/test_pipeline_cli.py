"""The CLI and pipeline files: a real run's outputs, resumption, and every kind of bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irrobust.cli import main

GOOD = """\
name: cran-mini
seed: 7
datasets: [cranfield]
measures: [nDCG@10, R@100]
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 100}}]
  - name: ql
    stages: [{ranker: ql, params: {k: 100}}]
  - name: rrf
    fuse: {method: rrf, systems: [bm25, ql]}
"""


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_run_writes_a_complete_run_directory_and_resumes(tmp_path, cran_index, capsys):
    pipe, out = _write(tmp_path, GOOD), tmp_path / "run"
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    for f in ("results.csv", "summary.json", "report.md", "report.html", "manifest.json", "significance.csv",
              "runs/cranfield/bm25.trec", "runs/cranfield/ql.trec", "runs/cranfield/rrf.trec"):  # fmt: skip
        assert (out / f).is_file(), f
    summary = json.loads((out / "summary.json").read_text())
    assert summary and all(set(r) == {"dataset", "system", "task", "condition", "measure", "value"} for r in summary)
    assert {r["system"] for r in summary} == {"bm25", "ql", "rrf"}
    manifest = json.loads((out / "manifest.json").read_text())
    for key in ("config_hash", "seed", "datasets", "indexes", "timings", "environment"):
        assert key in manifest
    assert manifest["datasets"]["cranfield"]["docs_checksum"]
    assert "pyserini" in manifest["environment"]["packages"]
    report = (out / "report.md").read_text()
    assert "| bm25 (baseline) |" in report and "Holm" in report
    first = (out / "results.csv").read_text()
    trec_mtime = (out / "runs/cranfield/bm25.trec").stat().st_mtime_ns
    timings = manifest["timings"]
    assert json.loads((out / "runs/cranfield/bm25.json").read_text())["seconds"] == timings["cranfield/effectiveness/clean/bm25"]
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0  # same config: resumes from run files
    assert (out / "runs/cranfield/bm25.trec").stat().st_mtime_ns == trec_mtime
    assert (out / "results.csv").read_text() == first
    # the resumed run reports the compute time each checkpointed run took, not the time to load it
    resumed = json.loads((out / "manifest.json").read_text())["timings"]
    for name in ("bm25", "ql", "rrf"):
        assert resumed[f"cranfield/effectiveness/clean/{name}"] == timings[f"cranfield/effectiveness/clean/{name}"]
    other = _write(tmp_path, GOOD.replace("seed: 7", "seed: 8"), "other.yaml")
    assert main(["run", str(other), "--out", str(out), "--quiet"]) == 2
    assert "different configuration" in capsys.readouterr().err


BAD = {
    "unknown_key": (GOOD.replace("seed: 7", "seed: 7\nsead: 8"), "sead", "unknown key 'sead'"),
    "nested_unknown_key": (
        GOOD.replace("{k: 100}}]\n  - name: ql", "{k: 100, k3: 1}}]\n  - name: ql"),
        "systems[0].stages[0].params",
        "unknown key 'k3'",
    ),
    "wrong_type": (GOOD.replace("seed: 7", "seed: seven"), "seed", "integer"),
    "wrong_param_type": (
        GOOD.replace("{k: 100}}]\n  - name: ql", "{k: many}}]\n  - name: ql"),
        "systems[0].stages[0].params.k",
        "integer",
    ),
    "unknown_dataset": (GOOD.replace("[cranfield]", "[cranfeld]"), "cranfeld", "unknown dataset ID"),
    "unknown_ranker": (
        GOOD.replace("ranker: ql", "ranker: qll"),
        "systems[1].stages[0].ranker",
        "unknown ranker 'qll'",
    ),
    "malformed_yaml": (GOOD.replace("seed: 7", "seed: [7"), "p.yaml", "malformed YAML"),
    "duplicate_key": (GOOD + "seed: 9\n", "p.yaml", "duplicate key 'seed'"),
    "unknown_fused_system": (
        GOOD.replace("[bm25, ql]", "[bm25, dense]"),
        "systems[2].fuse.systems",
        "unknown systems ['dense']",
    ),
    "duplicate_system": (GOOD.replace("name: ql", "name: bm25"), "systems[1].name", "used twice"),
    "unknown_baseline": (GOOD.replace("seed: 7", "seed: 7\nbaseline: dense"), "baseline", "not a system"),
    "not_a_mapping": ("- just\n- a list\n", "p.yaml", "mapping"),
    "bad_measure": (GOOD.replace("R@100]", "Recall@x]"), "measures", "unknown measure"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_pipeline_files_exit_2_with_file_and_key_path(tmp_path, capsys, case):
    text, where, message = BAD[case]
    pipe, out = _write(tmp_path, text), tmp_path / "run"
    assert main(["run", str(pipe), "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())  # the message is wrapped at 100 columns
    assert err.startswith("irrobust: error: ") and str(pipe) in err and where in err and message in err, err
    assert "Traceback" not in err
    assert not out.exists()


def test_missing_pipeline_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml: no such file" in err and not (tmp_path / "r").exists()


def test_validate_and_listing_commands(capsys):
    repo = Path(__file__).resolve().parents[2]
    assert main(["validate", str(repo / "pipelines" / "quickstart.yaml")]) == 0
    assert main(["components"]) == 0
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "valid retrieval pipeline 'quickstart'" in out and "bm25" in out and "beir/scifact/test" in out
