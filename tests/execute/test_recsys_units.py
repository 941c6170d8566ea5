"""The recommender grid on the one task protocol (issue 14): its unit keys, and the reader of finished units for
both layouts — the unit store (``checkpoints/recsys/units/``) and the per-unit files of earlier versions
(``checkpoints/recsys/<unit>.json``) that published run directories hold."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from irrobust.core.store import UnitStore
from irrobust.core.task import WorkerState
from irrobust.recsys.config import RecsysConfig
from irrobust.recsys.experiment import RecsysGrid, unit_records, unit_rows_table

REC = {
    "users": ["7", "9"],
    "metrics": {"Recall@20": [0.5, 0.25], "NDCG@20": [0.3, 0.1]},
    "stats": {"best_epoch": 60.0, "noise_share_used": 0.1},
    "epoch_stats": [{"epoch": 6, "n": 10, "n_noise": 2, "grad_factor_chosen": 0.1, "grad_factor_uniform": 0.2}],
    "valid_history": [[1, 0.5]],
}


def _grid(**kw):
    cfg = RecsysConfig(rhos=[0.0, 0.4], n_seeds=2, backbones=["MF"], methods=["standard", "pld"], **kw)
    return RecsysGrid(cfg, "/tmp/x", 2024, WorkerState(pd.DataFrame), "data-hash", cfg.model_dump(mode="json"))


def test_one_unit_per_training_keyed_by_its_coordinates_and_settings():
    units = _grid().units()
    assert len(units) == 2 * 2 * 2 and len({u.key for u in units}) == 8
    assert [u.inputs["rho"] for u in units] == [0.0] * 4 + [0.4] * 4  # rho-outer: finished (rho, all seeds) blocks
    assert units[0].label == "ml-100k__MF__standard__r0000__s2024"
    assert [u.key for u in _grid().units()] == [u.key for u in units]
    assert _grid(epochs=7).units()[0].key != units[0].key


def test_the_reader_reads_both_layouts_and_writes_nothing(tmp_path):
    ck = tmp_path / "checkpoints" / "recsys"
    ck.mkdir(parents=True)
    (ck / "ml-100k__LightGCN__pld__r0400__s2025.json").write_text(json.dumps({**REC, "hash": "ab" * 32}))
    (ck / "ml-100k__MF__standard__r0400__s2025.json").write_text(json.dumps(REC))  # also in the store, below
    (ck / "notes.json").write_text("{}")  # not a unit file
    store = UnitStore(ck / "units")
    ident = {"label": "ml-100k", "backbone": "MF", "method": "standard", "rho": 0.4, "seed": 2025}
    newer = {**REC, "users": ["7", "8"], "id": ident}
    store.put("cd" * 32, newer)
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    found = unit_records(tmp_path)
    assert [(i["backbone"], i["method"], i["rho"], i["seed"]) for i, _ in found] == [
        ("LightGCN", "pld", 0.4, 2025), ("MF", "standard", 0.4, 2025)]  # fmt: skip
    assert found[1][1]["users"] == ["7", "8"]  # a unit in both layouts is read from the store
    t = unit_rows_table(tmp_path)
    main = t[t.task == "recsys-noise"]
    assert set(main.system) == {"LightGCN/PLD", "MF/standard"} and set(main.condition) == {"rho=0.4"}
    assert set(main.seed) == {2025} and len(main) == 2 * 2 * 2
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


@pytest.mark.slow  # a private Ray instance whose two workers import RecBole and train: ~1-3 min
def test_the_grid_on_ray_gives_the_local_table(tmp_path):
    pytest.importorskip("ray")
    from irrobust import paths

    if paths.seed_dir() is None or not (paths.seed_dir() / "ml-100k" / "u.data").is_file():
        pytest.skip("no staged ml-100k")
    from irrobust.core.ray_executor import RayExecutor
    from irrobust.recsys.experiment import run_recsys

    cfg = RecsysConfig(max_users=40, rhos=[0.0, 0.2], n_seeds=1, epochs=2, eval_step=1, backbones=["MF"],
                       methods=["standard"], batch_size=256, threads=1)  # fmt: skip
    local = run_recsys(cfg, tmp_path / "local", seed=5, progress=False)
    ex = RayExecutor(address="local", workers=2)
    try:
        on_ray = run_recsys(cfg, tmp_path / "ray", seed=5, progress=False, executor=ex)
    finally:
        ex.close()
    timing = local.measure.str.endswith("seconds")
    pd.testing.assert_frame_equal(on_ray[~timing.to_numpy()], local[~timing])
    assert len(list((tmp_path / "ray" / "checkpoints" / "recsys" / "units").rglob("*.json"))) == 2
