"""``tasks.attacks`` in pipeline files: strict validation with key paths, and the report section."""

from __future__ import annotations

import pandas as pd
import pytest

from irrobust.errors import ConfigError
from irrobust.pipeline.config import parse_pipeline

BASE = {"name": "a", "datasets": ["beir/scifact/test"],
        "systems": [{"name": "bm25", "stages": [{"ranker": "bm25"}]}, {"name": "ql", "stages": [{"ranker": "ql"}]},
                    {"name": "fused", "fuse": {"systems": ["bm25", "ql"]}}]}


def _cfg(attacks):
    return parse_pipeline({**BASE, "tasks": {"attacks": attacks}}, "p.yaml")


def test_valid_attack_config(seed):
    cfg = _cfg({"items": [{"attack": "prada", "params": {"max_words": 5}}, {"attack": "query_stuffing"}]})
    assert [i.attack for i in cfg.tasks.attacks.items] == ["prada", "query_stuffing"]
    from irrobust.pipeline.attack_task import attacked_systems

    assert attacked_systems(cfg) == ["bm25", "ql"]  # fusions are not attacked


@pytest.mark.parametrize("attacks,where,text", [
    ({"items": [{"attack": "pradda"}]}, "tasks.attacks.items[0]", "unknown attack 'pradda'"),
    ({"items": [{"attack": "prada", "params": {"max_wrds": 3}}]}, "tasks.attacks.items[0].params", "max_wrds"),
    ({"items": [{"attack": "random"}, {"attack": "random"}]}, "tasks.attacks.items[1].label", "used twice"),
    ({"items": [{"attack": "random"}], "systems": ["fused"]}, "tasks.attacks.systems[0]", "fusion"),
    ({"items": [{"attack": "random"}], "systems": ["nope"]}, "tasks.attacks.systems[0]", "not a system"),
    ({"items": [{"attack": "random"}], "targets": {"sets": ["medium"]}}, "tasks.attacks.targets.sets", "easy"),
])  # fmt: skip
def test_attack_config_errors_name_the_key(attacks, where, text, seed):
    with pytest.raises(ConfigError) as err:
        _cfg(attacks)
    assert where in str(err.value.where) and text in str(err.value)


def test_report_section_and_scorecard():
    from irrobust.evaluate.attacks import attack_results
    from irrobust.report.attacks import attack_sections

    rows = []
    for system, sr in (("bm25", 0.2), ("knrm", 0.8)):
        for qid in ("1", "2"):
            rows += [("d", system, "ranking-attack", "prada/easy", qid, "success", sr),
                     ("d", system, "term-spamming", "query_stuffing/hard", qid, "success", 1.0)]
    results = attack_results(pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure",
                                                          "value"]))  # fmt: skip
    parts = attack_sections(results, {"bm25": "lexical"})
    assert len(parts) == 2 and "| prada/easy | knrm |  | 80.0% |" in parts[0]
    assert results[0].entry.task == "T4 word-substitution attacks"
    assert results[0].entry.values.sort_values("value").iloc[0].system == "bm25"


def test_max_queries_view_keeps_only_the_sampled_qrels(scifact):
    from irrobust.pipeline.runner import sample_queries

    view = sample_queries(scifact, 3, 42)
    assert len(view.queries) == 3 and view.id == scifact.id and len(scifact.queries) == 300
    assert set(view.qrels["qid"]) == set(view.queries["qid"])
    assert view.docs.texts(["4983"]) == scifact.docs.texts(["4983"])


def test_paired_attack_table_pairs_by_query():
    """The paired comparison aligns the attacks' per-query values by qid (rows given in different orders) and equals
    scipy's Wilcoxon signed-rank test on the aligned vectors; the section appears in the report."""
    import numpy as np
    from scipy.stats import wilcoxon

    from irrobust.evaluate.attacks import attack_results, paired_attack_table
    from irrobust.report.attacks import attack_sections

    rng = np.random.default_rng(0)
    qids = [str(q) for q in range(15)]
    a, b = rng.uniform(0, 10, 15), rng.uniform(0, 6, 15)
    rows = [("d", "ce", "ranking-attack", "prada/easy", q, "boosted_ranks", v) for q, v in zip(qids, a, strict=True)]
    rows += [("d", "ce", "ranking-attack", "random/easy", q, "boosted_ranks", v)
             for q, v in reversed(list(zip(qids, b, strict=True)))]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value"])
    out = paired_attack_table(frame)
    assert out[["reference", "other", "queries"]].values.tolist() == [["prada", "random", 15]]
    assert abs(out.p.iloc[0] - wilcoxon(a, b).pvalue) < 1e-12 and abs(out["diff"].iloc[0] - (a - b).mean()) < 1e-12
    parts = attack_sections(attack_results(frame), {})
    assert "prada vs random" in parts[0] and f"{out.p.iloc[0]:.3g}" in parts[0]
