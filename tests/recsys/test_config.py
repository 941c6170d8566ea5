"""RecsysConfig validation and the shipped pipeline files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from irrobust.errors import ConfigError
from irrobust.recsys.config import RecsysConfig, parse_recsys_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "bad",
    [
        {"bogus": 1},
        {"rhos": [0.2, 0.2]},
        {"rhos": [-0.1]},
        {"methods": []},
        {"epochs": 5, "pld_warmup_epochs": 5},
        {"valid_k": 10},
        {"dataset": "custom"},
        {"dataset": "ml-100k", "interactions_file": "x.csv"},
        {"split": [0.5, 0.3, 0.3]},
        {"epochs": 3, "eval_step": 5},
        {"backbones": ["NeuMF"]},
        {"tce_max_drop": 1.0},
        {"learning_rate_by_backbone": {"LightGCN": 0.0}},
        {"learning_rate_by_backbone": {"NeuMF": 0.1}},
    ],
)
def test_rejects_impossible_configs(bad):
    with pytest.raises(ValidationError):
        RecsysConfig(**bad)
    with pytest.raises(ConfigError) as err:
        parse_recsys_config(bad, where="p.yaml: recsys")
    assert err.value.where.startswith("p.yaml: recsys")


def test_every_field_documented():
    for name, field in RecsysConfig.model_fields.items():
        assert field.description, name


def test_pld_warmup_only_matters_for_pld():
    assert RecsysConfig(epochs=5, pld_warmup_epochs=5, methods=["standard", "uniform"]).epochs == 5


@pytest.mark.parametrize(
    "name",
    [
        "recsys_pld_ml100k.yaml",
        "recsys_pld_lastfm.yaml",
        "recsys_reference_ml100k.yaml",
        "recsys_reference_lastfm.yaml",
        "recsys_reference_tau1_ml100k.yaml",
        "recsys_reference_tau1_lastfm.yaml",
    ],
)
def test_pipeline_files_validate(name):
    doc = yaml.safe_load((ROOT / "pipelines" / name).read_text())
    assert doc["kind"] == "recsys" and isinstance(doc["seed"], int) and doc["name"].startswith("pld-")
    cfg = parse_recsys_config(doc["recsys"], where=name)
    assert "pld" in cfg.methods and set(cfg.backbones) == {"MF", "LightGCN"}
    assert sorted(cfg.rhos) == [0.0, 0.2, 0.4] and cfg.n_seeds >= 3  # the issue-13 grid
    if "reference" in name:
        assert cfg.protocol == "reference" and (cfg.epochs, cfg.eval_step, cfg.select_from_epoch) == (100, 20, 40)
        assert cfg.pld_tau == (1.0 if "tau1" in name else 0.1)
        if "tau1" not in name:
            assert set(cfg.methods) == {"standard", "pld", "uniform"}
    else:
        assert cfg.protocol == "irrobust" and cfg.stopping_step < cfg.epochs // cfg.eval_step  # early stopping
        assert set(cfg.methods) == {"standard", "pld", "uniform"}


def test_top_level_seed_is_bounded_for_numpy(tmp_path):
    """Seeds seed..seed+n_seeds-1 go to NumPy (0..2**32-1): a seed past that is a located validation error."""
    from irrobust.errors import ConfigError
    from irrobust.pipeline.config import load_pipeline

    f = tmp_path / "p.yaml"
    f.write_text("kind: recsys\nname: s\nseed: 4294967295\nrecsys: {dataset: ml-100k, n_seeds: 3}\n")
    with pytest.raises(ConfigError, match="seed"):
        load_pipeline(f)
    f.write_text("kind: recsys\nname: s\nseed: 7\nrecsys: {dataset: ml-100k, n_seeds: 3}\n")
    assert load_pipeline(f).seed == 7
