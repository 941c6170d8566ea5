"""Lucene indexes: manifest, reuse, atomic builds, and a build killed mid-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import irrobust as ir
from irrobust.index import lucene
from irrobust.index.manifest import read_manifest


def test_manifest_records_collection_and_settings(cranfield, cran_index):
    m = read_manifest(cran_index.path)
    assert m["collection"] == "cranfield" and m["doc_count"] == 1398  # Cranfield has two empty documents
    assert m["empty_documents_skipped"] == ["471", "995"]
    assert m["docs_checksum"] == cranfield.docs_checksum and m["settings"]["storeDocvectors"] is True
    assert cran_index.reader().stats()["documents"] == 1398
    assert ir.lucene_index(cranfield, progress=False).path == cran_index.path  # reused


def test_failed_build_leaves_nothing_behind(tmp_path, monkeypatch, cranfield):
    monkeypatch.setenv("IRROBUST_INDEXES", str(tmp_path))

    def boom(*args, **kwargs):
        raise RuntimeError("indexer crashed")

    monkeypatch.setattr(lucene.subprocess, "run", boom)
    with pytest.raises(RuntimeError):
        ir.lucene_index(cranfield, progress=False)
    assert not (tmp_path / "cranfield" / "lucene").exists()
    assert not list((tmp_path / "cranfield").glob(".lucene.tmp-*"))


PIPE = """\
name: kill-test
datasets: [cranfield]
measures: [nDCG@10]
systems: [{name: bm25, stages: [{ranker: bm25, params: {k: 100}}]}]
"""


def test_run_killed_during_index_build_completes_on_rerun(tmp_path, isolated_env, cran_index, cranfield):
    pipe, out = tmp_path / "p.yaml", tmp_path / "run"
    pipe.write_text(PIPE)
    cmd = [sys.executable, "-m", "irrobust.cli", "run", str(pipe), "--out", str(out), "--quiet"]
    indexes = Path(isolated_env["IRROBUST_INDEXES"])
    proc = subprocess.Popen(cmd, env=isolated_env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 180
    while time.time() < deadline and not list(indexes.glob(".scratch/*/index.log")):
        assert proc.poll() is None, "the run ended before the index build started"
        time.sleep(0.05)
    assert list(indexes.glob(".scratch/*/index.log")), "index build never started"
    time.sleep(0.3)  # the Lucene indexer is running now
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (indexes / "cranfield" / "lucene").exists()  # no half index under the final name
    assert not (out / "manifest.json").exists()  # and the run does not look complete
    done = subprocess.run(cmd, env=isolated_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_manifest(indexes / "cranfield" / "lucene")["doc_count"] == 1398
    assert not list((indexes / "cranfield").glob(".lucene.tmp-*"))
    summary = json.loads((out / "summary.json").read_text())
    expected = ir.evaluate_run(ir.BM25(cran_index, k=100)(cranfield.queries), cranfield.qrels, ["nDCG@10"])
    assert summary[0]["value"] == pytest.approx(expected["nDCG@10"], abs=1e-12)
