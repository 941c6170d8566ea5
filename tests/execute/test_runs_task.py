"""The effectiveness / query-shift / transfer runs as a task of the one protocol (issue 14): one unit per
(dataset, condition, system) in the one unit store ``checkpoints/runs/``, keyed by the content of its inputs; a rerun
computes only the missing units; run files of earlier versions are adopted; the Python API runs the runner's loop."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from irrobust.cli import main
from irrobust.core.executor import LocalExecutor, run_task
from irrobust.core.store import UnitStore
from irrobust.core.transformer import Transformer, add_ranks
from irrobust.pipeline.experiment import Condition, SystemRuns


class Echo(Transformer):
    """A toy system: documents ``d<len(query)+i>`` with scores from the query's length (pure, no index)."""

    def __init__(self, scale: float) -> None:
        self.scale, self.name = scale, f"echo{scale}"

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        rows = [(q, f"d{len(text) + i}", self.scale * len(text) / (i + 1)) for q, text in
                zip(table["qid"], table["query"], strict=True) for i in range(3)]  # fmt: skip
        return add_ranks(pd.DataFrame(rows, columns=["qid", "docno", "score"]))

    def spec(self) -> dict:
        return {"type": "Echo", "scale": self.scale}


def _task(queries=None, scale=1.0, settings=None, docs="c1"):
    q = queries if queries is not None else pd.DataFrame({"qid": ["1", "2"], "query": ["ab", "abcd"]})
    systems = {"a": Echo(scale), "b": Echo(2.0)}
    return SystemRuns(systems, ["a", "b"], [Condition("effectiveness", "clean", q),
                                            Condition("query-shift", "x", q.assign(query=q["query"] + "z"))],
                      settings or {"a": {"k": 1}, "b": {"k": 1}}, "toy", docs,
                      {n: s.spec() for n, s in systems.items()})  # fmt: skip


def test_run_units_are_keyed_by_everything_a_run_depends_on():
    base = [u.key for u in _task().units()]
    assert len(base) == len(set(base)) == 4  # (condition, system), condition by condition
    assert [u.inputs for u in _task().units()][:2] == [{"condition": 0, "system": "a"}, {"condition": 0, "system": "b"}]
    assert [u.key for u in _task().units()] == base  # stable
    other_q = pd.DataFrame({"qid": ["1", "2"], "query": ["ab", "abce"]})
    for changed in (_task(queries=other_q), _task(scale=3.0), _task(settings={"a": {"k": 2}, "b": {"k": 1}}),
                    _task(docs="c2")):  # fmt: skip
        keys = [u.key for u in changed.units()]
        assert keys[0] != base[0], "a run unit's key ignores one of its inputs"


def test_runs_resume_from_the_store_and_read_back_as_computed(tmp_path):
    task, store = _task(), UnitStore(tmp_path / "units")
    first = run_task(task, store, LocalExecutor())
    calls = []
    again = _task()
    again.run = lambda unit: calls.append(unit) or {}  # a rerun must not run any unit
    second = run_task(again, store, LocalExecutor())
    assert calls == []
    for ci in range(2):
        for n in ("a", "b"):
            pd.testing.assert_frame_equal(first.runs[ci][n], second.runs[ci][n])
            assert first.seconds[ci][n] == second.seconds[ci][n]
    assert list(first.runs[1]["a"].columns) == ["qid", "docno", "score", "rank"]


GOOD = """\
name: runs-task
seed: 5
datasets: [cranfield]
max_queries: 6
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 20}}]
  - name: ql
    stages: [{ranker: ql, params: {k: 20}}]
tasks:
  shifts:
    items:
      - {shift: typos, params: {rate: 0.5}}
"""


def _files(out: Path) -> dict[str, bytes]:
    names = ["results.csv", "significance.csv"] + sorted(p.relative_to(out).as_posix() for p in
                                                          (out / "runs").rglob("*.trec"))  # fmt: skip
    return {n: (out / n).read_bytes() for n in names}


def _count_calls(monkeypatch):
    from irrobust.rankers.lexical import BM25, QL

    calls: list[str] = []
    for cls in (BM25, QL):
        real = cls.transform

        def spy(self, table, real=real, name=cls.__name__):
            calls.append(name)
            return real(self, table)

        monkeypatch.setattr(cls, "transform", spy)
    return calls


def test_a_rerun_computes_only_the_missing_run_units(tmp_path, cran_index, monkeypatch):
    pipe, out = tmp_path / "p.yaml", tmp_path / "run"
    pipe.write_text(GOOD)
    calls = _count_calls(monkeypatch)
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    assert sorted(calls) == ["BM25", "BM25", "QL", "QL"]  # (clean, typos) x (bm25, ql)
    records = sorted((out / "checkpoints" / "runs").rglob("*.json"))
    assert len(records) == 4
    want = _files(out)
    # the ql run of the shifted condition is lost (its record and its run file): only it is computed again, and the
    # outputs are the same
    trec = out / "runs/cranfield-query-shift-typos/ql.trec"
    scores = [float(x) for x in trec.read_text().split()[4::6]]
    lost = [p for p in records if json.loads(p.read_text())["result"]["score"] == scores]
    assert len(lost) == 1
    lost[0].unlink()
    trec.with_suffix(".json").unlink()
    calls.clear()
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    assert calls == ["QL"]
    assert _files(out) == want


def test_run_files_of_an_earlier_version_are_adopted_not_recomputed(tmp_path, cran_index, monkeypatch):
    pipe, out = tmp_path / "p.yaml", tmp_path / "run"
    pipe.write_text(GOOD)
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    want = _files(out)
    import shutil

    shutil.rmtree(out / "checkpoints" / "runs")  # what a run directory of the RunCache layout holds: run files only
    calls = _count_calls(monkeypatch)
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    assert calls == []
    assert _files(out) == want
    assert len(list((out / "checkpoints" / "runs").rglob("*.json"))) == 4


def test_the_python_api_runs_the_runners_loop(tmp_path, cran_index, monkeypatch):
    import irrobust as ir
    from irrobust.pipeline import runner
    from irrobust.pipeline.study import GivenSystems

    seen = []
    real = runner.run_tasks

    def spy(cfg, rd, source, **kw):
        seen.append(type(source).__name__)
        return real(cfg, rd, source, **kw)

    monkeypatch.setattr(runner, "run_tasks", spy)
    ds = ir.dataset("cranfield")
    s = ir.experiment({"bm25": ir.BM25(cran_index, k=20), "ql": ir.QL(cran_index, k=20)}, ds, ["nDCG@10"],
                      shifts=["typos"], max_queries=6, seed=5, out=tmp_path / "api", progress=False)  # fmt: skip
    assert seen == [GivenSystems.__name__]
    assert len(list((tmp_path / "api" / "checkpoints" / "runs").rglob("*.json"))) == 4
    assert set(s.runs) == {"bm25", "ql"} and list(s.runs["bm25"].columns) == ["qid", "docno", "score", "rank"]


@pytest.mark.slow  # a private Ray instance with two workers, each starting the JVM: ~1-2 min on an idle machine
def test_runs_on_ray_give_the_local_outputs(tmp_path, cran_index):
    pytest.importorskip("ray")
    pipe = tmp_path / "p.yaml"
    pipe.write_text(GOOD)
    assert main(["run", str(pipe), "--out", str(tmp_path / "local"), "--quiet"]) == 0
    assert main(["run", str(pipe), "--out", str(tmp_path / "ray"), "--quiet", "--executor", "ray"]) == 0
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["executor"]["kind"] == "ray"
