"""Third-party rankers through the ``irrobust.rankers`` entry-point group: a tiny package (module + dist-info on
``sys.path``, as pip installs it) adds a ranker to the YAML vocabulary without editing irrobust; a broken plugin is a
located configuration error naming the entry point, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from irrobust.core.registry import Registry
from irrobust.errors import ConfigError
from irrobust.pipeline.registry import PLUGIN_GROUP, RANKERS, plugin_ranker

PLUGIN = '''\
"""A third party's ranker for irrobust: query-word overlap, plus a bonus."""
from irrobust.pipeline.registry import Params, RankerEntry
from irrobust.rankers.function import FunctionRanker


class OverlapParams(Params):
    bonus: float = 0.0


def build(ctx, p):
    def overlap(query, texts):
        q = set(query.lower().split())
        return [len(q & set(t.lower().split())) + p.bonus for t in texts]

    return FunctionRanker(overlap, docs=ctx.dataset.docs, name="Overlap", version="1")


ENTRY = RankerEntry("{name}", OverlapParams, build, "query-word overlap (a test plugin)", family="lexical")
'''


def make_package(root: Path, dist: str, entries: dict[str, str], modules: dict[str, str]) -> Path:
    """Write ``modules`` and a ``<dist>-0.1.dist-info`` declaring ``entries`` (name -> ``module:attr``) in
    ``irrobust.rankers`` under ``root``: what ``pip install`` leaves in site-packages."""
    root.mkdir(parents=True, exist_ok=True)
    for mod, text in modules.items():
        (root / f"{mod}.py").write_text(text)
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "".join(f"{name} = {ref}\n" for name, ref in entries.items())
    (info / "entry_points.txt").write_text(f"[{PLUGIN_GROUP}]\n{lines}")
    return root


def _env(path: Path) -> dict[str, str]:
    env = {**os.environ, "IRROBUST_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(path), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _cli(args: list[str], path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "irrobust.cli", *args], env=_env(path), capture_output=True,
                          text=True, timeout=900)  # fmt: skip


PIPELINE = """\
name: plugin
seed: 3
datasets: [beir/scifact/test]
max_queries: 3
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 20}}]
  - name: bm25>>overlap
    stages: [{ranker: bm25, params: {k: 20}}, {ranker: toy_overlap, params: {bonus: 0.5}}]
"""


def test_plugin_ranker_runs_in_a_yaml_pipeline(tmp_path, seed):
    """A ranker registered by an installed package's entry point reranks real SciFact queries in ``irrobust run``
    (the same stage is attacked and certified through the scoring protocol in test_function_ranker.py)."""
    import irrobust as ir

    pkg = make_package(tmp_path / "site", "irrobust_toy", {"toy_overlap": "irrobust_toy_plugin:ENTRY"},
                       {"irrobust_toy_plugin": PLUGIN.format(name="toy_overlap")})  # fmt: skip
    listed = _cli(["components"], pkg)
    assert listed.returncode == 0 and "toy_overlap" in listed.stdout, listed.stderr[-2000:]
    (tmp_path / "p.yaml").write_text(PIPELINE)
    out = tmp_path / "run"
    proc = _cli(["run", str(tmp_path / "p.yaml"), "--out", str(out), "--quiet"], pkg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = pd.read_csv(out / "runs" / "beir-scifact-test" / "bm25__overlap.trec", sep=" ", header=None,
                      names=["qid", "q0", "docno", "rank", "score", "tag"], dtype={"qid": str, "docno": str})  # fmt: skip
    ds = ir.dataset("beir/scifact/test")
    queries = ds.queries.set_index(ds.queries["qid"].astype(str))["query"]
    assert run["qid"].nunique() == 3 and len(run) == 60
    texts = ds.docs.texts(run["docno"].tolist())
    expected = [len(set(queries[q].lower().split()) & set(t.lower().split())) + 0.5
                for q, t in zip(run["qid"], texts, strict=True)]  # fmt: skip
    assert run["score"].tolist() == pytest.approx(expected)


def test_broken_plugins_are_located_errors(tmp_path, monkeypatch):
    """Import failure, a wrong object, a mismatched name and a clash with a built-in each name the entry point."""
    mods = {"plug_ok": PLUGIN.format(name="ok_plugin"), "plug_clash": PLUGIN.format(name="bm25"),
            "plug_boom": "raise RuntimeError('boom at import')\n", "plug_wrong": "ENTRY = 42\n",
            "plug_named": PLUGIN.format(name="other")}  # fmt: skip
    cases = {"boom": ("plug_boom:ENTRY", "cannot be loaded: RuntimeError: boom at import"),
             "wrong": ("plug_wrong:ENTRY", "must name an irrobust.pipeline.registry.RankerEntry, got a int"),
             "named": ("plug_named:ENTRY", "named 'other' but its entry point 'named'"),
             "bm25": ("plug_clash:ENTRY", "'bm25' is already registered; a plugin cannot replace it")}  # fmt: skip
    builtin = RANKERS.get("bm25")  # loaded before any broken package is on sys.path
    for name, (ref, message) in cases.items():
        root = make_package(tmp_path / name, f"broken_{name}", {name: ref, "ok_plugin": "plug_ok:ENTRY"}, mods)
        monkeypatch.syspath_prepend(str(root))
        reg = Registry("ranker", plugins=PLUGIN_GROUP, convert=plugin_ranker)
        reg.register("bm25", builtin)
        with pytest.raises(ConfigError) as err:
            reg.get("ok_plugin")
        assert message in err.value.message
        assert err.value.where.startswith(f"entry point {name} = {ref} (group irrobust.rankers, distribution "
                                          f"broken_{name})")  # fmt: skip
        monkeypatch.undo()
    # the CLI: exit code 2, the entry point named, no traceback
    root = make_package(tmp_path / "cli", "broken_cli", {"boom": "plug_boom:ENTRY"}, mods)
    proc = _cli(["validate", str(Path(__file__).resolve().parents[2] / "pipelines" / "quickstart.yaml")], root)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "entry point boom = plug_boom:ENTRY" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout


def test_plugin_loading_registers_each_entry_point_once(tmp_path, monkeypatch):
    root = make_package(tmp_path / "ok", "fine", {"ok_plugin": "plug_ok2:ENTRY"},
                        {"plug_ok2": PLUGIN.format(name="ok_plugin")})  # fmt: skip
    monkeypatch.syspath_prepend(str(root))
    reg = Registry("ranker", plugins=PLUGIN_GROUP, convert=plugin_ranker)
    assert "ok_plugin" in reg and reg.get("ok_plugin").description.startswith("query-word overlap")
    assert reg.load_entry_points(PLUGIN_GROUP, plugin_ranker) == ["ok_plugin"]  # the same definition: no clash
    assert list(reg) == ["ok_plugin"]
