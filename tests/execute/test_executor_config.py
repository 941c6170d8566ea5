"""The `executor:` key of a pipeline and `irrobust run --executor`: strict, located errors, exit code 2, and the
executor is not part of a run's identity."""

from __future__ import annotations

import importlib.util

import pytest

from irrobust.errors import ConfigError
from irrobust.pipeline.config import parse_pipeline

BASE = {"name": "x", "datasets": ["cranfield"], "systems": [{"name": "bm25", "stages": [{"ranker": "bm25"}]}]}


def test_executor_forms():
    assert parse_pipeline(BASE).executor.kind == "local"
    assert parse_pipeline({**BASE, "executor": "ray"}).executor.address == "local"
    spec = parse_pipeline({**BASE, "executor": {"kind": "ray", "address": "10.0.0.5:6379", "num_gpus_per_unit": 0.5}})
    assert (spec.executor.address, spec.executor.num_gpus_per_unit, spec.executor.max_retries) == ("10.0.0.5:6379",
                                                                                                   0.5, 3)  # fmt: skip


@pytest.mark.parametrize(("value", "where", "says"), [
    ("slurm", "p.yaml: executor", "allowed: local, ray"),
    ({"kind": "ray", "num_cpus_per_unit": 0}, "p.yaml: executor.num_cpus_per_unit", "greater than 0"),
    ({"kind": "ray", "adress": "auto"}, "p.yaml: executor.adress", "did you mean 'address'"),
    ({"kind": "local", "address": "auto"}, "p.yaml: executor", "apply to executor kind 'ray' only"),
    ({"kind": "ray", "address": "not an address"}, "p.yaml: executor.address", "pattern"),
])  # fmt: skip
def test_bad_executors_are_located_errors(value, where, says):
    with pytest.raises(ConfigError) as info:
        parse_pipeline({**BASE, "executor": value}, "p.yaml")
    assert str(info.value).startswith(where) and says in str(info.value)


def test_ray_asked_without_ray_installed_is_a_config_error(monkeypatch, tmp_path, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    with pytest.raises(ConfigError, match="needs Ray, which is not installed") as info:
        parse_pipeline({**BASE, "executor": "ray"}, "p.yaml")
    assert info.value.where == "p.yaml: executor"
    import yaml

    from irrobust.cli import main

    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump(BASE))
    assert main(["run", str(pipe), "--executor", "ray", "--out", str(tmp_path / "out")]) == 2
    assert "not installed" in capsys.readouterr().err and not (tmp_path / "out").exists()


@pytest.mark.slow  # two small pipeline runs: ~15 s idle, 100 s at load 15
def test_the_executor_is_not_part_of_the_run_identity(tmp_path, seed):
    """A run made in-process is the same run under Ray: the rerun finds its checkpoints instead of refusing the
    directory as another configuration's (no task units here, so Ray itself is never started)."""
    import json

    import yaml

    from irrobust.cli import main

    pipe = tmp_path / "p.yaml"
    pipe.write_text(yaml.safe_dump({**BASE, "max_queries": 3, "measures": ["nDCG@10"]}))
    out = tmp_path / "out"
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    first = json.loads((out / "manifest.json").read_text())
    assert main(["run", str(pipe), "--out", str(out), "--quiet", "--executor", "ray", "--ray-address", "auto"]) == 0
    second = json.loads((out / "manifest.json").read_text())
    assert first["config_hash"] == second["config_hash"] and "executor" not in second["config"]
    assert (first["executor"]["kind"], second["executor"]["kind"]) == ("local", "ray")


RECSYS = {"kind": "recsys", "name": "r", "recsys": {"n_seeds": 1}}


def test_recsys_pipelines_take_an_executor_too(monkeypatch, tmp_path):
    """`executor:` in a recommender pipeline: the same forms and located errors, and the runner hands the executor it
    made to the recommender grid (and closes it), keeping it out of the run's identity."""
    import irrobust.pipeline.recsys_runner as recsys_runner
    from irrobust.pipeline.runner import run_pipeline

    assert parse_pipeline(RECSYS).executor.kind == "local"
    assert parse_pipeline({**RECSYS, "executor": "ray"}).executor.kind == "ray"
    with pytest.raises(ConfigError) as info:
        parse_pipeline({**RECSYS, "executor": {"kind": "ray", "adress": "auto"}}, "r.yaml")
    assert str(info.value).startswith("r.yaml: executor.adress")

    seen = []

    def fake(cfg, rd, progress=True, executor=None):
        seen.append(executor)
        return {"datasets": {}}

    from irrobust.core.executor import LocalExecutor

    closed = []
    monkeypatch.setattr(recsys_runner, "run_recsys_pipeline", fake)
    monkeypatch.setattr(LocalExecutor, "close", lambda self: closed.append(self))
    out = run_pipeline(parse_pipeline(RECSYS), tmp_path / "run", progress=False)
    assert seen and seen[0].kind == "local" and closed == seen
    import json

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["executor"] == seen[0].describe() and "executor" not in manifest["config"]
