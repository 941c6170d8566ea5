"""Tasks 4-5 resume per target document: an interrupted run, rerun, recomputes only unfinished targets and gives
the results of an uninterrupted run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from irrobust.pipeline.config import parse_pipeline
from irrobust.pipeline.rundir import RunDir

CONFIG = {
    "name": "attack-resume", "seed": 3, "datasets": ["beir/scifact/test"], "measures": ["nDCG@10"],
    "systems": [{"name": "bm25", "stages": [{"ranker": "bm25", "params": {"k": 100}}]},
                {"name": "bm25>>knrm", "stages": [{"ranker": "bm25", "params": {"k": 100}}, {"ranker": "knrm", "params": {"fit": False}}]}],
    "tasks": {"attacks": {"max_queries": 1, "targets": {"sets": ["easy", "hard"], "hard": 2},
                          "surrogate": {"epochs": 1},
                          "items": [{"attack": "prada", "params": {"query_budget": 15}},
                                    {"attack": "random", "params": {"query_budget": 15}},
                                    {"attack": "query_stuffing"}]}},
}


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def cfg_and_systems(scifact, knrm_reranker):
    import irrobust as ir
    from irrobust.core.transformer import Memo

    cfg = parse_pipeline(CONFIG, "<test>")
    index = ir.lucene_index(scifact.collection, progress=False)
    # built by hand so the test never (re)trains the shared KNRM model directory
    built = {"bm25": Memo(ir.BM25(index, k=100)), "bm25>>knrm": Memo(ir.BM25(index, k=100) >> knrm_reranker)}
    return cfg, built


def _run(cfg, built, scifact, path, hook=None):
    from irrobust.pipeline.attack_task import run_attack_task

    rd = RunDir(path, "h")
    rd.prepare()
    return run_attack_task(cfg, scifact, built, rd, progress=False, hook=hook)


def _records(root):
    """The unit records of the one checkpoint store under an attack run (``attacks/<ds>/<system>/units/``)."""
    return sorted(p for p in (root / "attacks").rglob("*.json") if "units" in p.parts)


def test_interrupted_run_resumes_with_identical_results(cfg_and_systems, scifact, tmp_path):
    cfg, built = cfg_and_systems
    full = _run(cfg, built, scifact, tmp_path / "full")
    n_targets = len(_records(tmp_path / "full"))
    assert n_targets == len(full.details[["system", "attack", "qid", "docno"]].drop_duplicates()) >= 2 * 5 * 3
    done: list[dict] = []

    def stop_after_ten(row):
        done.append(row)
        if len(done) == 10:
            raise Interrupt

    with pytest.raises(Interrupt):
        _run(cfg, built, scifact, tmp_path / "resumed", hook=stop_after_ten)
    files = _records(tmp_path / "resumed")
    assert len(files) == 10
    # a checkpoint damaged by a crash is recomputed, not trusted
    files[0].write_text(files[0].read_text()[:20])
    recomputed: list[dict] = []
    resumed = _run(cfg, built, scifact, tmp_path / "resumed", hook=recomputed.append)
    assert len(recomputed) == n_targets - 9
    finished = {(r["system"], r["attack"], r["qid"], r["docno"]) for r in done}
    again_done = finished & {(r["system"], r["attack"], r["qid"], r["docno"]) for r in recomputed}
    assert len(again_done) == 1  # only the damaged one of the ten finished targets was recomputed
    pd.testing.assert_frame_equal(resumed.table, full.table)
    pd.testing.assert_frame_equal(resumed.details.drop(columns="seconds"), full.details.drop(columns="seconds"))
    pd.testing.assert_frame_equal(resumed.documents, full.documents)
    # and a third run computes nothing
    again: list[dict] = []
    _run(cfg, built, scifact, tmp_path / "resumed", hook=again.append)
    assert again == []
    rec = json.loads(_records(tmp_path / "full")[0].read_text())  # a record of the one store: plain JSON
    assert set(rec) == {"key", "result"} and set(rec["result"]) == {"result", "similarity", "seconds"}
