"""Kill anywhere, resume exactly (issue 17): a run killed with SIGKILL at any file write, then rerun, leaves the
same run directory, byte for byte (timing fields aside), as an uninterrupted run — for every task.

The kill is injected by ``IRROBUST_KILL_AT_WRITE=N[:before]`` (:mod:`irrobust.util.io`): the CLI child process
SIGKILLs itself right after its N-th atomic file write (or between writing and renaming it). Every checkpoint of
every task is such a write. The reference and the resumed runs are ordinary CLI runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from irrobust.cli import main

#: keys of JSON outputs that hold times, not results
TIMING_KEYS = re.compile(r"(^|_)(seconds|timings|started_at|finished_at|stopped_at)$")
_BOOKKEEPING = {"run.json", ".irrobust.lock"}
#: table columns that hold times
_TIME_HEADS = {"seconds", "s/epoch"}


@pytest.fixture(scope="module")
def cran_index(seed):
    import irrobust as ir

    return ir.lucene_index(ir.dataset("cranfield"), progress=False)


def _drop_timings(obj):
    if isinstance(obj, dict):
        return {k: _drop_timings(v) for k, v in obj.items() if not TIMING_KEYS.search(k) and k != "outputs"
                and k != "environment"}  # fmt: skip
    if isinstance(obj, list):
        return [_drop_timings(v) for v in obj if not (isinstance(v, dict) and "seconds" in str(v.get("measure", "")))]
    return obj


def _drop_csv_timings(text: str) -> str:
    import io

    import pandas as pd

    if not text.strip():
        return text
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    df = df[[c for c in df.columns if "seconds" not in c]]
    if "measure" in df.columns:
        df = df[~df["measure"].str.contains("seconds")]
    return df.to_csv(index=False)


def _blank_seconds_columns(text: str) -> str:
    """Blank every timing column (headed ``seconds`` or ``s/epoch``) in markdown and HTML tables."""
    out, col = [], None
    for line in text.split("\n"):
        if line.startswith("|"):
            cells = line.split("|")
            if col is None and any(c.strip() in _TIME_HEADS for c in cells):
                col = next(i for i, c in enumerate(cells) if c.strip() in _TIME_HEADS)
            elif col is not None and col < len(cells) and not set(cells[col].strip()) <= set("-"):
                cells[col] = " ~ "
            line = "|".join(cells)
        else:
            col = None
        out.append(line)
    text = "\n".join(out)

    def table(m: re.Match) -> str:
        t = m.group(0)
        heads = re.findall(r"<th>(.*?)</th>", t)
        timed = [j for j, h in enumerate(heads) if h in _TIME_HEADS]
        if not timed:
            return t
        i = timed[0]
        return re.sub(r"<tr>((?:<td>.*?</td>)+)</tr>",
                      lambda r: "<tr>" + "".join(f"<td>{'~' if j == i else c}</td>" for j, c in
                                                 enumerate(re.findall(r"<td>(.*?)</td>", r.group(1)))) + "</tr>", t)  # fmt: skip

    return re.sub(r"<table>.*?</table>", table, text, flags=re.S)


def snapshot(run: Path) -> dict[str, bytes]:
    """Every file of a run directory, with timing fields blanked (see module docstring)."""
    snap: dict[str, bytes] = {}
    for p in sorted(run.rglob("*")):
        rel = p.relative_to(run).as_posix()
        if not p.is_file() or rel in _BOOKKEEPING or rel.startswith("recbole/"):
            continue  # recbole/: RecBole's work area (time-stamped logs, per-unit scratch), not an output
        data = p.read_bytes()
        if p.suffix == ".json":
            data = json.dumps(_drop_timings(json.loads(data)), sort_keys=True).encode()
        elif p.suffix == ".csv":
            data = _drop_csv_timings(data.decode()).encode()
        elif p.suffix in (".md", ".html"):
            data = _blank_seconds_columns(data.decode()).encode()
        snap[rel] = data
    return snap


def assert_same_run(resumed: Path, reference: Path) -> None:
    a, b = snapshot(resumed), snapshot(reference)
    assert sorted(a) == sorted(b), set(a) ^ set(b)
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, differ
    assert json.loads((resumed / "run.json").read_text())["status"] == "complete"


def kill_at(pipe: Path, out: Path, write: str) -> int:
    """Run the CLI in a child process that SIGKILLs itself at atomic write ``write``; return its exit status."""
    env = {**os.environ, "IRROBUST_KILL_AT_WRITE": write, "IRROBUST_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "irrobust.cli", "run", str(pipe), "--out", str(out), "--quiet"],
                          env=env, capture_output=True, text=True, timeout=1800)  # fmt: skip
    assert proc.returncode in (-9, 0), proc.stderr[-3000:]
    return proc.returncode


def kill_and_resume(tmp_path: Path, text: str, points: list[list[str]]) -> None:
    """Reference run; then for each list of kill points, kill successive runs into one directory at those points,
    resume, and compare with the reference."""
    pipe = tmp_path / "p.yaml"
    pipe.write_text(text)
    reference = tmp_path / "reference"
    assert main(["run", str(pipe), "--out", str(reference), "--quiet"]) == 0
    n_outputs = len(json.loads((reference / "manifest.json").read_text())["outputs"])
    killed = 0
    for i, series in enumerate(points):
        out = tmp_path / f"killed{i}"
        for point in series:
            n, _, when = point.partition(":")
            n = str(max(1, int(eval_point(n, n_outputs))))
            killed += kill_at(pipe, out, f"{n}:{when}" if when else n) == -9
            state = json.loads((out / "run.json").read_text())
            assert state["status"] in ("running", "complete")
            assert not (out / "manifest.json").exists() or state["status"] == "complete"
        assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
        assert_same_run(out, reference)
        assert not [p for p in out.rglob("*.tmp")], "a temporary file survived the resume"
    assert killed >= len(points), "the kill points missed the run"


def eval_point(expr: str, n_outputs: int) -> float:
    """``"3"`` → 3; ``"half"`` → half the outputs; ``"last"`` → the last outputs (reports, manifest)."""
    return {"half": n_outputs / 2, "last": n_outputs - 1}.get(expr) or float(expr)


RETRIEVAL = """\
name: kill-retrieval
seed: 5
datasets: [cranfield]
max_queries: 12
measures: [nDCG@10, R@100]
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 100}}]
  - name: ql
    stages: [{ranker: ql, params: {k: 100}}]
  - name: rrf
    fuse: {method: rrf, systems: [bm25, ql]}
tasks:
  variance: {worst_fractions: [0.25], bootstrap: 200}
  shifts:
    items:
      - {shift: typos, params: {rate: 0.5}}
      - {shift: reorder}
"""


def test_effectiveness_and_shifts_resume_exactly(tmp_path, cran_index):
    # killed twice in a row into one directory: between writing and renaming a run file of a shifted condition
    # (a temporary is left behind), then right after the rerun's first checkpoint
    kill_and_resume(tmp_path, RETRIEVAL, [["half:before", "2"]])


@pytest.mark.slow
def test_effectiveness_and_shifts_resume_exactly_at_more_points(tmp_path, cran_index):
    # after run.json; after the first checkpoint; between writing and renaming a late output (reports, manifest)
    kill_and_resume(tmp_path, RETRIEVAL, [["1"], ["2"], ["last:before"], ["last"]])


ATTACKS = """\
name: kill-attacks
seed: 5
datasets: [cranfield]
max_queries: 5
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 30}}]
tasks:
  attacks:
    max_queries: 2
    similarity: false
    targets: {depth: 30, sets: [easy, hard], buckets: [[11, 20], [21, 30]], hard: 2}
    items:
      - {attack: random, params: {max_words: 3, query_budget: 6}}
      - {attack: query_stuffing, params: {max_words: 3}}
"""

CERTIFY = """\
name: kill-certify
seed: 5
datasets: [cranfield]
max_queries: 5
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 30}}]
tasks:
  certify:
    max_queries: 3
    depth: 12
    samples: 16
    budgets: [null, 1]
    ks: [1, 3, 10]
    rules: [{rule: max, bound: hoeffding}]
    exact_bm25: true
"""

RECSYS = """\
kind: recsys
name: kill-recsys
seed: 5
recsys:
  dataset: ml-100k
  max_users: 40
  rhos: [0.0, 0.2]
  n_seeds: 1
  backbones: [MF]
  methods: [standard, pld]
  epochs: 2
  eval_step: 1
  pld_warmup_epochs: 1
  batch_size: 256
  threads: 1
"""


@pytest.mark.slow
@pytest.mark.parametrize("task", ["attacks", "certify"])
def test_attack_and_certify_tasks_resume_exactly(tmp_path, cran_index, task):
    text = {"attacks": ATTACKS, "certify": CERTIFY}[task]
    kill_and_resume(tmp_path, text, [["3"], ["half", "half:before"], ["last:before"]])


@pytest.mark.slow
def test_recsys_resumes_exactly(tmp_path, seed):
    if not (seed / "ml-100k" / "u.data").is_file():
        pytest.skip("no staged ml-100k")
    kill_and_resume(tmp_path, RECSYS, [["2"], ["3", "4:before"], ["last:before"]])


@pytest.mark.slow
def test_retrieval_resume_exactly_at_every_write(tmp_path, cran_index):
    """The exhaustive version: a kill at every write of a small run (before and after each rename)."""
    small = RETRIEVAL.replace("max_queries: 12", "max_queries: 4").split("tasks:")[0]
    pipe = tmp_path / "p.yaml"
    pipe.write_text(small)
    reference = tmp_path / "reference"
    assert main(["run", str(pipe), "--out", str(reference), "--quiet"]) == 0
    n = len(json.loads((reference / "manifest.json").read_text())["outputs"]) + 4
    for k in range(1, n + 1):
        for when in ("", ":before"):
            out = tmp_path / f"k{k}{when.strip(':')}"
            kill_at(pipe, out, f"{k}{when}")
            assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
            assert_same_run(out, reference)
