"""Lucene builds and kills (issue 17): the indexer child dies with its parent, and a killed build's scratch folder
is removed by the next build, while a live build's folder is left alone."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PARENT = textwrap.dedent("""
    import pathlib, sys
    from irrobust.index.lucene import build_lucene_index

    class Docs:
        def iter(self):
            for i in range(3000):
                yield str(i), f"document {i} on the boundary layer of a swept wing in supersonic flow " * 30

    class Data:
        collection, docs, docs_checksum = "test/child", Docs(), "x"

    build_lucene_index(Data(), pathlib.Path(sys.argv[1]), progress=False)
""")


def _processes_with(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in cmdline and "pyserini.index.lucene" in cmdline:
                pids.append(int(entry.name))
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
def test_indexer_child_dies_with_its_parent_and_the_next_build_sweeps_its_scratch(tmp_path, monkeypatch):
    indexes = tmp_path / "indexes"
    env = {**os.environ, "IRROBUST_INDEXES": str(indexes), "IRROBUST_THREADS": "1"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(indexes / "test" / "child" / "lucene")], env=env)
    children: list[int] = []
    try:
        deadline = time.time() + 300
        while not children and time.time() < deadline and parent.poll() is None:
            children = _processes_with(str(indexes))
            time.sleep(0.05)
        assert children, "the indexer child never started"
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        time.sleep(1.5)  # a JVM indexing 3,000 documents runs for longer than this on its own
        assert not [pid for pid in children if _alive(pid)], "the indexer outlived its parent"
    finally:
        for pid in children:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
    leaked = list((indexes / ".scratch").glob("tmp*"))
    assert leaked  # the killed parent could not clean up ...
    from irrobust.index.lucene import scratch_dir

    monkeypatch.setenv("IRROBUST_INDEXES", str(indexes))
    with scratch_dir() as fresh:  # ... the next build removes it
        assert sorted((indexes / ".scratch").glob("tmp*")) == [fresh]
    assert not list((indexes / ".scratch").glob("tmp*"))


def test_sweep_removes_only_folders_no_live_build_holds(tmp_path):
    from irrobust.index.lucene import sweep_scratch

    root = tmp_path / ".scratch"
    for name in ("tmpdead", "tmplive", "tmpold", "tmpnew"):
        (root / name / "collection").mkdir(parents=True)
    for name in ("tmpdead", "tmplive"):
        (root / name / ".in-use").write_text("")
    held = open(root / "tmplive" / ".in-use")  # noqa: SIM115  (a live build holds its lock)
    fcntl.flock(held, fcntl.LOCK_EX)
    old = time.time() - 2 * 3600
    os.utime(root / "tmpold", (old, old))  # no lock file (an older irrobust) and two hours old
    try:
        removed = sorted(p.name for p in sweep_scratch(root))
    finally:
        held.close()
    assert removed == ["tmpdead", "tmpold"]
    assert sorted(p.name for p in root.iterdir()) == ["tmplive", "tmpnew"]
