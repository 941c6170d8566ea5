"""``--quiet`` (issue 17): a real run prints only irrobust's errors, warnings and its final summary."""

from __future__ import annotations

import logging
import sys

from tqdm.auto import tqdm

from irrobust.cli import main
from irrobust.util.quiet import quiet_output

PIPE = """\
name: cran-quiet
seed: 5
datasets: [cranfield]
measures: [nDCG@10]
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 100}}]
"""


def test_quiet_run_prints_only_the_summary(tmp_path, cran_index, capsys):
    pipe, out = tmp_path / "p.yaml", tmp_path / "run"
    pipe.write_text(PIPE)
    assert main(["run", str(pipe), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"irrobust: finished cran-quiet; results in {out.resolve()}\n" or captured.out == (
        f"irrobust: finished cran-quiet; results in {out}\n"
    ), captured.out
    assert all(line.startswith("irrobust: warning: ") for line in captured.err.splitlines()), captured.err[-2000:]


def test_quiet_output_filters_bars_prints_and_info_logs(capsys):
    log = logging.getLogger("irrobust.test_quiet")
    with quiet_output():
        for _ in tqdm(range(3), desc="bar"):
            print("step loss 0.1")
        print("train 50%|#####", file=sys.stderr)
        log.info("irrobust: info is progress too")
        log.warning("irrobust: warning: kept")
        print("irrobust: finished x; results in y")
    captured = capsys.readouterr()
    assert captured.out == "irrobust: finished x; results in y\n"
    assert "bar" not in captured.err and "50%" not in captured.err and "info is progress" not in captured.err
    with quiet_output(False):
        print("not quiet")
    assert capsys.readouterr().out == "not quiet\n"
