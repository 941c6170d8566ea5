"""Issue 17, security and data loss: reports escape user text and embed no outside file; ``--force`` removes only
irrobust's files and never follows links; a failed rerun keeps a finished run; one writer per run directory; a run
that fails after it started exits 2 and is marked failed."""

from __future__ import annotations

import base64
import json
import multiprocessing as mp
import os
import re
from pathlib import Path

import pytest

from irrobust.cli import main

PIPE = """\
name: sec-mini
description: {description}
seed: {seed}
datasets: [cranfield]
max_queries: 8
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{{ranker: bm25, params: {{k: 20}}}}]
"""

HOSTILE = "'<img src=x onerror=alert(1)> ![leak]({secret}) <script>alert(2)</script> | # ` [x](javascript:alert(3))'"


def _pipe(tmp_path: Path, seed: int = 1, description: str = "plain", name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(PIPE.format(seed=seed, description=description))
    return p


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir(exist_ok=True)
    secret.write_bytes(b"\x89PNG\r\n\x1a\n TOP SECRET local file")
    return secret


# -- reports -------------------------------------------------------------------------------------------------------
def test_run_report_escapes_the_description_and_embeds_no_outside_file(tmp_path, cran_index):
    secret = _secret(tmp_path)
    pipe, out = _pipe(tmp_path, description=HOSTILE.format(secret=secret)), tmp_path / "run"
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    md, html = (out / "report.md").read_text(), (out / "report.html").read_text()
    assert not re.search(r"(?<!\\)<(img|script)", md) and "![leak](" not in md  # raw HTML and images escaped
    assert not re.search(r"(?<!\\)\[x\]", md)  # no link either
    assert "onerror" not in html.replace("onerror=alert(1)&gt;", "")  # only as escaped text
    assert not [t for t, _ in _tags(html) if t in ("script", "img", "a")]  # only the report's own elements
    assert all(k not in ("onerror", "href") for _, attrs in _tags(html) for k, _ in attrs)
    assert base64.b64encode(secret.read_bytes()).decode()[:24] not in html
    assert "TOP SECRET" not in html and "data:" not in html  # nothing embedded (the path stays visible as text)
    # the text itself survives, escaped: a reader sees what the description says
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_markdown_to_html_embeds_only_images_inside_the_run_directory(tmp_path):
    from irrobust.report.html import markdown_to_html

    secret = _secret(tmp_path)
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    (run / "plots" / "ok.png").write_bytes(b"\x89PNG inside")
    (run / "plots" / "link.png").symlink_to(secret)
    md = "\n\n".join([f"![a]({secret})", "![b](../outside/secret.png)", "![c](plots/link.png)",
                      "![d](file:///etc/passwd)", "![e](plots/ok.png)",
                      '![f" onerror="alert(1)](plots/ok.png)', '![g](x.png"onerror="alert(1))'])  # fmt: skip
    html = markdown_to_html(md, base_dir=run)
    assert html.count("<img") == 2  # the two images of plots/ok.png
    assert base64.b64encode(b"\x89PNG inside").decode() in html
    assert base64.b64encode(secret.read_bytes()).decode()[:16] not in html and str(secret) not in html
    assert 'alt="f&quot; onerror=&quot;alert(1)"' in html
    for tag, attrs in _tags(html):  # no injected element or attribute: only paragraphs and embedded images
        assert tag in ("p", "img"), tag
        if tag == "img":
            assert [k for k, _ in attrs] == ["alt", "src"] and dict(attrs)["src"].startswith("data:image/png;base64,")


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(html)
    return found


@pytest.mark.timeout(30)
def test_markdown_to_html_never_hangs_on_lines_it_does_not_parse():
    from irrobust.report.html import markdown_to_html

    # each of these made the old converter loop forever (a description line "#tag" hung the whole run)
    assert markdown_to_html("#tag") == "<p>#tag</p>"
    assert markdown_to_html("![a](x.png) trailing") == "<p>![a](x.png) trailing</p>"
    assert "<img" not in markdown_to_html('![g](x.png" onerror="alert(1))')


def test_markdown_escaping_round_trips_to_the_original_text():
    from irrobust.report.html import markdown_to_html
    from irrobust.report.markdown import markdown_table, md_escape, report_header

    name = "a|b <i>x</i> *y* `z` [l](u) \\ _e_ query_stuffing"
    html = markdown_to_html(report_header(name, "# heading?\n\n- item?\n\n1. one?") + "\n"
                            + markdown_table(["system", "v"], [[name, "1.0"], ["-0.5", "> q"]]))  # fmt: skip
    import html as htmllib

    esc = htmllib.escape(name, quote=False)
    assert f"<h1>{esc}</h1>" in html  # the title shows exactly the name
    assert f"<td>{esc}</td><td>1.0</td>" in html  # a bar in a name does not split the cell
    assert "<td>-0.5</td><td>&gt; q</td>" in html
    assert "<h1>heading?</h1>" not in html and "<li>" not in html and "<p># heading?</p>" in html
    assert md_escape("x\n# y") == "x # y"  # one line: cannot start a block


# -- --force ----------------------------------------------------------------------------------------------------------
def test_force_removes_only_irrobust_files_and_never_follows_links(tmp_path, cran_index):
    out = tmp_path / "run"
    assert main(["run", str(_pipe(tmp_path, seed=1)), "--out", str(out), "--quiet"]) == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    (out / "notes.txt").write_text("mine")  # a foreign file
    (out / "data").mkdir()
    (out / "data" / "x.csv").write_text("1,2")  # a foreign folder
    (out / "link").symlink_to(outside, target_is_directory=True)  # a link to a folder outside
    (out / "runs" / "evil").symlink_to(outside, target_is_directory=True)  # a link inside an owned folder
    (out / "plots").mkdir()
    (out / "plots" / "x.png").symlink_to(outside / "keep.txt")  # an owned folder holding a link
    assert main(["run", str(_pipe(tmp_path, seed=2, name="q.yaml")), "--out", str(out), "--quiet", "--force"]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "data" / "x.csv").read_text() == "1,2"
    assert (out / "link").is_symlink() and (out / "runs" / "evil").is_symlink()
    assert (out / "plots" / "x.png").is_symlink()
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "precious"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 2 and "notes.txt" not in manifest["outputs"]


def test_force_on_a_directory_without_a_run_keeps_foreign_files(tmp_path, cran_index):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["run", str(_pipe(tmp_path)), "--out", str(out), "--quiet"]) == 2  # not empty, no run: refused
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # nothing written into it
    assert main(["run", str(_pipe(tmp_path)), "--out", str(out), "--quiet", "--force"]) == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "manifest.json").is_file()


# -- failed reruns ----------------------------------------------------------------------------------------------------
def _boom(*args, **kwargs):
    raise RuntimeError("simulated failure inside the run (e.g. a JVM exception)")


def test_failed_rerun_keeps_a_finished_run(tmp_path, cran_index, monkeypatch, capsys):
    import irrobust.pipeline.runner as runner

    pipe, out = _pipe(tmp_path), tmp_path / "run"
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    manifest = (out / "manifest.json").read_text()
    results = (out / "results.csv").read_text()
    monkeypatch.setattr(runner, "run_retrieval", _boom)
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(out) in err and "simulated failure" in err
    assert (out / "manifest.json").read_text() == manifest  # still a finished run
    assert (out / "results.csv").read_text() == results
    state = json.loads((out / "run.json").read_text())
    assert state["status"] == "complete" and "simulated failure" in state["error"]

    def change_then_fail(cfg, rd, progress=True, **kwargs):  # the runner also passes the executor
        (rd.path / "results.csv").write_text("changed\n")
        _boom()

    monkeypatch.setattr(runner, "run_retrieval", change_then_fail)
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 2
    # an output changed: the directory no longer is that finished run, and says so
    assert not (out / "manifest.json").exists()
    state = json.loads((out / "run.json").read_text())
    assert state["status"] == "failed" and "RuntimeError" in state["details"]
    monkeypatch.undo()
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0  # resumes to a finished run again
    assert (out / "results.csv").read_text() == results


def test_failure_after_start_exits_2_and_marks_the_run_failed(tmp_path, cran_index, monkeypatch, capsys):
    import irrobust.pipeline.components  # noqa: F401  (registers the rankers)
    from irrobust.rankers.lexical import BM25

    calls = []

    def failing(self, table):
        calls.append(1)
        raise RuntimeError("org.apache.lucene: k1 must be finite")  # what a JVM-side rejection looks like

    monkeypatch.setattr(BM25, "transform", failing)
    pipe, out = _pipe(tmp_path), tmp_path / "run"
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert calls and "Traceback" not in err and str(out) in err and "k1 must be finite" in err
    assert not (out / "manifest.json").exists()
    state = json.loads((out / "run.json").read_text())
    assert state["status"] == "failed" and "k1 must be finite" in state["details"]
    assert not list(out.rglob("*.trec"))  # no partial result that looks finished


# -- one writer per run directory -----------------------------------------------------------------------------------
def _hold_lock(out: str, config_hash: str, ready, release) -> None:
    from irrobust.pipeline.rundir import RunDir

    rd = RunDir(Path(out), config_hash)
    rd.lock()
    rd.prepare()
    ready.set()
    release.wait(60)
    rd.unlock()


def test_second_run_into_a_busy_directory_is_refused(tmp_path, cran_index, capsys):
    from irrobust.pipeline.config import load_pipeline
    from irrobust.util.io import sha256_json

    pipe, out = _pipe(tmp_path), tmp_path / "run"
    config_hash = sha256_json(load_pipeline(pipe).model_dump(mode="json", exclude={"executor"}))  # as the runner
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(out), config_hash, ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        before = sorted(p.name for p in out.iterdir())
        assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 2
        err = " ".join(capsys.readouterr().err.split())
        assert "another irrobust run is writing into this directory" in err and f"pid {holder.pid}" in err
        assert sorted(p.name for p in out.iterdir()) == before  # nothing written
        assert json.loads((out / "run.json").read_text())["status"] == "running"  # the holder's state untouched
    finally:
        release.set()
        holder.join(30)
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0  # free again (the lock died with it)


@pytest.mark.slow
def test_a_cli_run_into_a_directory_another_cli_run_is_writing_is_refused(tmp_path, cran_index, capsys):
    """Black-box: a real CLI run is paused (SIGSTOP) mid-run; a second run into its directory must not start."""
    import signal
    import subprocess
    import sys
    import time

    pipe, out = _pipe(tmp_path), tmp_path / "run"
    env = {**os.environ, "IRROBUST_THREADS": "1", "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-m", "irrobust.cli", "run", str(pipe), "--out", str(out), "--quiet"],
                             env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.time() + 600
        while time.time() < deadline and first.poll() is None:
            state = out / "run.json"
            if state.is_file() and json.loads(state.read_text() or "{}").get("status") == "running":
                break
            time.sleep(0.02)
        first.send_signal(signal.SIGSTOP)  # the first run is now mid-way, holding the directory
        assert json.loads((out / "run.json").read_text())["status"] == "running"
        assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 2
        assert "another irrobust run" in capsys.readouterr().err
        assert not (out / "manifest.json").exists()  # the second run wrote nothing that finishes the directory
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(600) == 0, first.stderr.read()
    manifest = json.loads((out / "manifest.json").read_text())
    from irrobust.pipeline.rundir import RunDir

    assert RunDir(out, "h").outputs() == manifest["outputs"]  # intact: every output as the manifest lists it
