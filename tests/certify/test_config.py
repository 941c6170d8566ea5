"""The ``tasks.certify`` schema: strict keys, cross-field checks naming the key path."""

from __future__ import annotations

import pytest
import yaml

from irrobust.errors import ConfigError
from irrobust.pipeline.config import load_pipeline, parse_pipeline


def _cfg(**certify):
    return {"name": "t", "datasets": ["beir/scifact/test"], "systems": [{"name": "bm25", "stages": [{"ranker": "bm25"}]}],
            "tasks": {"certify": certify}}  # fmt: skip


@pytest.mark.parametrize("path", ["pipelines/certify_scifact.yaml", "pipelines/certify_scifact_ce.yaml"])
def test_shipped_pipeline_is_valid(path):
    cfg = load_pipeline(path)
    task = cfg.tasks.certify
    assert task.depth > max(task.ks) and task.budgets[0] is None
    assert {r.rule for r in task.rules} == {"paper", "max"}


@pytest.mark.parametrize(
    ("certify", "where"),
    [
        ({"systems": ["nope"]}, "tasks.certify.systems[0]"),
        ({"ks": [30], "depth": 20}, "tasks.certify.ks"),
        ({"system_samples": {"nope": 5}}, "tasks.certify.system_samples[0]"),
        ({"adaptive": True, "n0": 64, "samples": 32}, "tasks.certify.n0"),
    ],
)
def test_cross_field_errors(certify, where):
    with pytest.raises(ConfigError) as exc:
        parse_pipeline(_cfg(**certify), "p.yaml")
    assert where in str(exc.value)


def test_unknown_keys_and_bad_values_are_errors():
    for bad in ({"sampels": 10}, {"budgets": [-1]}, {"rules": [{"rule": "other"}]}, {"alpha": 1.5}, {"neighbours": 0}):
        with pytest.raises(ConfigError):
            parse_pipeline(_cfg(**bad), "p.yaml")
    # the same settings through a YAML file: the error names the file and the key path
    bad = yaml.safe_load(yaml.safe_dump(_cfg(alpha=1.5)))
    with pytest.raises(ConfigError) as exc:
        parse_pipeline(bad, "p.yaml")
    assert "p.yaml" in str(exc.value) and "alpha" in str(exc.value)
