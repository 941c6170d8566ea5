"""The Python API: lazy top-level exports, and ``ir.experiment`` giving what a pipeline file gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

#: modules ``import irrobust`` must not load (each costs seconds or starts a JVM)
HEAVY = ("torch", "pyserini", "jnius", "transformers", "sentence_transformers", "faiss", "recbole", "numba",
         "lightgbm", "ir_datasets", "ranx", "pandas", "matplotlib", "ray", "pyterrier")  # fmt: skip

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_import_irrobust_loads_no_heavy_library():
    loaded = json.loads(_python(f"import sys, json, irrobust; print(json.dumps([m for m in {HEAVY!r} "
                                "if m in sys.modules]))"))  # fmt: skip
    assert loaded == []


def test_subpackages_and_rankers_are_reachable_lazily():
    code = """
import sys, json, irrobust as ir
shifts = ir.shifts
first = "torch" in sys.modules
names = {
    "shifts": sorted(ir.shifts.SHIFTS), "attacks": sorted(ir.attacks.ATTACKS),
    "certify": [n for n in ("PerturbationSets", "SmoothedRanker", "certify_exact", "crq") if hasattr(ir.certify, n)],
    "recsys": ir.recsys.RecsysConfig.__name__,
    "rankers": [getattr(ir, n).__name__ for n in ("DenseRetriever", "DenseReranker", "CrossEncoderReranker",
                                                 "KNRMReranker", "LTRReranker", "FunctionRanker")],
    "ranker": ir.ranker.__name__, "Transfer": ir.Transfer.__name__, "Study": ir.Study.__name__,
    "torch_after_shifts": first,
}
print(json.dumps(names))
"""
    got = json.loads(_python(code))
    assert "typos" in got["shifts"] and "prada" in got["attacks"]
    assert got["certify"] == ["PerturbationSets", "SmoothedRanker", "certify_exact", "crq"]
    assert got["recsys"] == "RecsysConfig"
    assert got["rankers"] == ["DenseRetriever", "DenseReranker", "CrossEncoderReranker", "KNRMReranker",
                              "LTRReranker", "FunctionRanker"]  # fmt: skip
    assert got["torch_after_shifts"] is False


def test_every_export_resolves():
    import irrobust as ir

    for name in ir.__all__:
        assert getattr(ir, name) is not None, name
    with pytest.raises(AttributeError):
        ir.no_such_thing  # noqa: B018


# --- ir.experiment and the YAML pipeline build and run the same objects -------------------------------------------

TASKS = {
    "variance": {"bootstrap": 200},
    "shifts": {"items": [{"shift": "typos", "params": {"rate": 0.3}}]},
    "attacks": {"max_queries": 2, "similarity": False, "targets": {"depth": 30, "sets": ["hard"], "hard": 2},
                "items": [{"attack": "query_stuffing", "params": {"max_words": 3}}]},
    "certify": {"max_queries": 2, "depth": 12, "samples": 16, "budgets": [None, 1], "ks": [1, 3],
                "rules": [{"rule": "max", "bound": "hoeffding"}], "exact_bm25": True},
}  # fmt: skip
PIPELINE = {
    "name": "api-vs-yaml", "seed": 5, "datasets": ["cranfield"], "max_queries": 5, "measures": ["nDCG@10", "RR@10"],
    "systems": [{"name": "bm25", "stages": [{"ranker": "bm25", "params": {"k": 30}}]},
                {"name": "ql", "stages": [{"ranker": "ql", "params": {"k": 30}}]}],
    "tasks": TASKS,
}  # fmt: skip


def _api(out: Path, **changes):
    import irrobust as ir

    ds = ir.dataset("cranfield")
    index = ir.lucene_index(ds)
    kwargs = dict(seed=5, name="api-vs-yaml", max_queries=5, variance=TASKS["variance"],
                  shifts=[ir.shifts.Typos(rate=0.3, seed=5)], attacks=TASKS["attacks"], certify=TASKS["certify"])  # fmt: skip
    kwargs.update(changes)
    return ir.experiment({"bm25": ir.BM25(index, k=30), "ql": ir.QL(index, k=30)}, ds, ["nDCG@10", "RR@10"],
                         out=out, progress=False, **kwargs)  # fmt: skip


def _without_seconds(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"qid": str})
    return df.drop(columns=[c for c in df.columns if "seconds" in c])


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from irrobust.pipeline.config import parse_pipeline
    from irrobust.pipeline.runner import run_pipeline

    root = tmp_path_factory.mktemp("api")
    yaml_dir = run_pipeline(parse_pipeline(PIPELINE, "<test>"), root / "yaml", progress=False)
    return yaml_dir, _api(root / "api")


def test_api_and_yaml_give_identical_tables(both):
    yaml_dir, study = both
    for name in ("results.csv", "significance.csv", "attacks.csv", "certify/certificates.csv"):
        pd.testing.assert_frame_equal(_without_seconds(yaml_dir / name), _without_seconds(study.path / name),
                                      obj=name)  # fmt: skip
    # every task ran, and the table in memory is the table on disk
    assert set(study.table.task) == {"effectiveness", "query-shift", "term-spamming", "certify", "certify-clean"}
    pd.testing.assert_frame_equal(study.table.reset_index(drop=True),
                                  pd.read_csv(study.path / "results.csv", dtype={"qid": str}))  # fmt: skip
    # the report's opening summary and its JSON are the same (timings aside)
    y, a = (_untimed(json.loads((d / "report.json").read_text())) for d in (yaml_dir, study.path))
    assert json.dumps(y, sort_keys=True) == json.dumps(a, sort_keys=True)


def _untimed(value):
    """A report's JSON without its measured times (the only thing two identical runs may differ in)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "timings" and "seconds" not in k}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def test_the_study_object(both, tmp_path):
    _, study = both
    summary = study.summary()
    assert list(summary.index) == ["bm25", "ql"] and list(summary.columns) == ["nDCG@10", "RR@10"]
    assert set(study.compare().system) == {"ql"}
    robust = study.most_robust()
    assert {"T1 variance", "T2 query shifts", "T5 term spamming"} <= set(robust.task)
    assert set(study.shifts().condition) == {"typos"} and len(study.variance()) == 2
    assert set(study.certificates().condition) >= {"exact-Rall", "max-hoeffding-R1"}
    assert set(study.attacks().condition) == {"query_stuffing/hard"}
    md = study.to_markdown()
    assert md.startswith("# ") and "most robust" in md and "| bm25 (baseline) |" in md
    html = study.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == html and "data:image/png;base64," in html
    assert "<h1>" in study._repr_html_() and study._repr_markdown_() == md


def test_shift_objects_names_and_specs_build_the_same_config():
    import irrobust as ir
    from irrobust.core.transformer import Identity
    from irrobust.pipeline.study import study_config

    systems = {"a": Identity()}
    by_name = study_config(systems, "cranfield", shifts=["typos"], seed=3)
    by_spec = study_config(systems, "cranfield", shifts=[{"shift": "typos"}], seed=3)
    by_object = study_config(systems, "cranfield", shifts=[ir.shifts.Typos(seed=3)], seed=3)
    specs = [c.tasks.shifts.items[0].stage.spec() for c in (by_name, by_spec, by_object)]
    assert specs[0] == specs[1] == specs[2]
    recipe = ir.attacks.make_attack("random", max_words=4)
    from_object = study_config(systems, "cranfield", attacks=[recipe])
    from_spec = study_config(systems, "cranfield", attacks=[{"attack": "random", "params": {"max_words": 4}}])
    assert from_object.tasks.attacks.items[0].recipe.spec() == from_spec.tasks.attacks.items[0].recipe.spec()


def test_mistakes_are_located_config_errors():
    from irrobust.core.transformer import Identity
    from irrobust.errors import ConfigError
    from irrobust.pipeline.study import study_config

    systems = {"a": Identity()}
    with pytest.raises(ConfigError, match=r"ir.experiment: tasks.shifts.items\[0\]"):
        study_config(systems, "cranfield", shifts=["tyops"])
    with pytest.raises(ConfigError, match=r"ir.experiment: tasks.attacks.items\[0\].params"):
        study_config(systems, "cranfield", attacks=[{"attack": "random", "params": {"max_wrods": 3}}])
    with pytest.raises(ConfigError, match=r"ir.experiment: tasks.certify.samples"):
        study_config(systems, "cranfield", certify={"samples": 1})
    with pytest.raises(ConfigError, match="baseline"):
        study_config(systems, "cranfield", baseline="b")
    with pytest.raises(ConfigError, match=r"systems\[1\].name"):
        study_config({"a": Identity(), "a b": Identity()}, "cranfield")
