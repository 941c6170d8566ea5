"""run_recsys end to end on a small real subset: table contract, checkpoint/resume, side-effect containment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import irrobust.recsys.experiment as exp
from irrobust import paths
from irrobust.recsys.config import RecsysConfig

CFG = dict(
    max_users=100,
    rhos=[0.0, 0.3],
    n_seeds=1,
    epochs=2,
    eval_step=1,
    backbones=["MF", "LightGCN"],
    methods=["standard", "pld"],
    pld_warmup_epochs=1,
    learning_rate=5e-3,
    batch_size=256,
)


@pytest.fixture(scope="module")
def run(ml100k, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    table = exp.run_recsys(RecsysConfig(**CFG), run_dir, seed=3, progress=False)
    return run_dir, table


def test_table_contract(run, small_split):
    _, table = run
    assert list(table.columns) == ["dataset", "system", "task", "condition", "qid", "measure", "value", "seed"]
    main = table[table.task == "recsys-noise"]
    assert set(main.system) == {"MF/standard", "MF/PLD", "LightGCN/standard", "LightGCN/PLD"}
    assert set(main.condition) == {"rho=0", "rho=0.3"}
    assert set(main.measure) == {"Recall@20", "Recall@50", "NDCG@20", "NDCG@50"}
    assert set(main.dataset) == {"ml-100k"} and set(main.seed) == {3}
    assert main.groupby(["system", "condition", "measure"]).qid.nunique().eq(100).all()
    assert main.qid.map(type).eq(str).all() and main.value.between(0, 1).all()
    # the 100 users are real ml-100k user ids (same subset for every seed)
    assert set(main.qid) == set(small_split.test.user)
    # a trained recommender is far better than random (~20/1682 per test item)
    r20 = main[(main.measure == "Recall@20") & (main.condition == "rho=0")].groupby("system").value.mean()
    assert (r20 > 0.05).all()
    stats = table[table.task == "recsys-noise-stats"]
    s = stats.set_index(["system", "condition", "measure"]).value
    assert s[("MF/standard", "rho=0", "noise_share_data")] == 0
    assert s[("MF/standard", "rho=0.3", "noise_share_data")] == pytest.approx(0.3 / 1.3, abs=0.02)
    assert ("LightGCN/PLD", "rho=0.3", "noise_share_pool") in s.index


def _record(run_dir, name):
    """The unit store's record file of the unit ``name`` (found by the coordinates its record carries)."""
    for f in (run_dir / "checkpoints" / "recsys" / "units").rglob("*.json"):
        ident = json.loads(f.read_text())["result"]["id"]
        if exp.unit_name(ident["label"], ident["backbone"], ident["method"], ident["rho"], ident["seed"]) == name:
            return f
    raise AssertionError(name)


def test_checkpoints_resume_without_recompute(run, monkeypatch):
    run_dir, table = run
    files = sorted((run_dir / "checkpoints" / "recsys" / "units").rglob("*.json"))
    assert len(files) == 8  # one record per (backbone, method, rho, seed) in the one unit store
    monkeypatch.setattr(exp, "run_unit", lambda *a, **k: pytest.fail("recomputed a finished unit"))
    again = exp.run_recsys(RecsysConfig(**CFG), run_dir, seed=3, progress=False)
    pd.testing.assert_frame_equal(again, table)


def test_killed_unit_recomputes_identically(run):
    run_dir, table = run
    victim = _record(run_dir, "ml-100k__LightGCN__pld__r0300__s3")
    old = json.loads(victim.read_text())["result"]
    victim.unlink()
    again = exp.run_recsys(RecsysConfig(**CFG), run_dir, seed=3, progress=False)
    new = json.loads(victim.read_text())["result"]
    assert new["metrics"] == old["metrics"] and new["valid_history"] == old["valid_history"]
    main = lambda t: t[t.task == "recsys-noise"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(main(again), main(table))


def test_checkpoints_of_the_earlier_layout_are_read_and_adopted(run, tmp_path, monkeypatch):
    """A run directory of the per-unit-file layout (``checkpoints/recsys/<unit>.json`` with its ``hash``, as the
    published runs hold): read by :func:`unit_records`, and a rerun adopts it instead of training."""
    import shutil

    run_dir, table = run
    old = tmp_path / "old"
    ck = old / "checkpoints" / "recsys"
    ck.mkdir(parents=True)
    for f in (run_dir / "checkpoints" / "recsys" / "units").rglob("*.json"):
        rec = json.loads(f.read_text())
        ident = rec["result"].pop("id")
        name = exp.unit_name(ident["label"], ident["backbone"], ident["method"], ident["rho"], ident["seed"])
        (ck / f"{name}.json").write_text(json.dumps({**rec["result"], "hash": rec["key"]}))
    if (run_dir / "recbole" / "download").is_dir():  # the downloaded data, if the run fetched any
        shutil.copytree(run_dir / "recbole" / "download", old / "recbole" / "download")
    by_reader = exp.unit_rows_table(old)
    main = lambda t: t[t.task == "recsys-noise"].sort_values(["system", "condition", "qid", "measure"]) \
        .reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(main(by_reader), main(table))
    monkeypatch.setattr(exp, "run_unit", lambda *a, **k: pytest.fail("trained a unit the old layout holds"))
    again = exp.run_recsys(RecsysConfig(**CFG), old, seed=3, progress=False)
    # the same table as a resume of the run the records came from (timing stats included)
    pd.testing.assert_frame_equal(again, exp.run_recsys(RecsysConfig(**CFG), run_dir, seed=3, progress=False))
    assert len(list((ck / "units").rglob("*.json"))) == 8
    pd.testing.assert_frame_equal(main(exp.unit_rows_table(old)), main(table))  # both layouts: each unit once


class _Recomputed(Exception):
    pass


def test_changed_config_is_not_served_from_stale_checkpoints(run, monkeypatch):
    run_dir, _ = run

    def boom(*a, **k):
        raise _Recomputed

    monkeypatch.setattr(exp, "run_unit", boom)
    with pytest.raises(_Recomputed):
        exp.run_recsys(RecsysConfig(**{**CFG, "learning_rate": 1e-2}), run_dir, seed=3, progress=False)


def test_no_side_effects_outside_run_dir(tmp_path):
    """RecBole writes log/, log_tensorboard/, saved/ into the CWD by default: all of it must land in the run dir."""
    cwd, home, run_dir = tmp_path / "cwd", tmp_path / "home", tmp_path / "run"
    cwd.mkdir()
    home.mkdir()
    script = textwrap.dedent(f"""
        import sys, torch
        sys.path.insert(0, {str(Path(exp.__file__).resolve().parents[2])!r})
        torch.set_num_threads(1)
        from pathlib import Path
        from irrobust.recsys.config import RecsysConfig
        from irrobust.recsys.experiment import run_recsys
        cfg = RecsysConfig(max_users=100, rhos=[0.2], n_seeds=1, epochs=2, eval_step=1,
                           backbones=["LightGCN"], methods=["tce"], keep_models=True)
        t = run_recsys(cfg, Path({str(run_dir)!r}), seed=1, progress=False)
        print(len(t))
    """)
    env = {**os.environ, "HOME": str(home), "IRROBUST_SEED_DIR": str(paths.seed_dir())}
    out = subprocess.run([sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert list(cwd.iterdir()) == []
    assert list(home.iterdir()) == []
    rb = run_dir / "recbole"
    assert any(rb.glob("log_tensorboard/*")) and any(rb.glob("models/*.pth")) and any(rb.glob("*.log"))
    assert not list(rb.glob(".unit-*"))  # the per-unit private directories are removed
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoints", "recbole"]


class _Planted:
    """Unpickling this creates ``marker`` (a stand-in for arbitrary code execution)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def test_files_planted_in_a_reused_run_dir_are_never_unpickled_or_trusted(tmp_path):
    """Issue 17: RecBole pickle.loads '<checkpoint_dir>/<dataset>-Dataset.pth' and '-dataloader.pth' when they exist
    and torch.loads its best-model .pth; irrobust used to point checkpoint_dir at run_dir/recbole/saved and to reuse
    pre-split .inter files found under run_dir/recbole/data. Plant all of them: nothing may be unpickled and the
    numbers must equal a clean run's."""
    import pickle

    import torch

    cfg = RecsysConfig(max_users=100, rhos=[0.2], n_seeds=1, epochs=2, eval_step=1, backbones=["MF"],
                       methods=["standard"], learning_rate=5e-3, batch_size=256)
    clean = exp.run_recsys(cfg, tmp_path / "clean", seed=5, progress=False)
    run_dir = tmp_path / "reused"
    ds = "ml-100k_r0200_s5"
    marker = tmp_path / "PWNED"
    saved, data = run_dir / "recbole" / "saved", run_dir / "recbole" / "data" / ds
    saved.mkdir(parents=True)
    data.mkdir(parents=True)
    for name in (f"{ds}-Dataset.pth", f"{ds}-for-BPR-dataloader.pth"):
        (saved / name).write_bytes(pickle.dumps(_Planted(marker)))
    torch.save({"state_dict": _Planted(marker)}, saved / "ml-100k__MF__standard__r0200__s5.pth")
    for part in ("train", "valid", "test"):  # a tampered split: one fake interaction per file
        (data / f"{ds}.{part}.inter").write_text("user_id:token\titem_id:token\n1\t1\n")
    planted = exp.run_recsys(cfg, run_dir, seed=5, progress=False)
    assert not marker.exists()
    main = lambda t: t[t.task == "recsys-noise"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(main(planted), main(clean))
