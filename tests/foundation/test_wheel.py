"""irrobust installs like a library: a wheel with compatible ranges, usable outside the checkout.

The wheel is built from the checkout, installed with ``--no-deps`` into a fresh virtual environment that sees
the existing site-packages (the pinned stack) through a ``.pth`` file, and then used from a directory outside
the checkout: ``irrobust validate`` and a tiny BM25 pipeline on Cranfield. Nothing may come from the repository
layout except the staged data (``IRROBUST_SEED_DIR``).
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

TINY = """\
name: wheel-smoke
datasets: [cranfield]
measures: [nDCG@10, R@100]
baseline: bm25
systems:
  - name: bm25
    stages: [{ranker: bm25, params: {k: 100}}]
  - name: ql
    stages: [{ranker: ql, params: {k: 100}}]
"""


def _requirements(section: str, key: str) -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    lines = [ln.split("#", 1)[0].strip() for ln in cfg[section][key].splitlines()]
    return [ln for ln in lines if ln]


def test_install_requires_are_ranges_not_pins():
    """Exact pins belong in requirements.txt; the library declares ranges, heavy parts as extras."""
    core = _requirements("options", "install_requires")
    assert core, "install_requires is empty"
    pinned = [r for r in core if "==" in r]
    assert not pinned, f"install_requires pins exact versions: {pinned}"
    names = {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in core}
    # the heavy stacks are extras, so `pip install irrobust` never touches a user's torch / transformers
    assert not names & {"torch", "transformers", "sentence-transformers", "recbole", "ray"}, names
    extras = configparser.ConfigParser()
    extras.read(REPO / "setup.cfg")
    assert {"neural", "recsys", "ray", "pyterrier"} <= set(extras["options.extras_require"])
    for extra in ("neural", "recsys"):
        for req in _requirements("options.extras_require", extra):
            name = re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0].lower()
            if name in {"torch", "transformers", "sentence-transformers"}:
                assert "<" not in req and "==" not in req, f"{extra}: {req} would downgrade a newer stack"


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path, seed):
    """Build the wheel, install it --no-deps into a fresh venv over the existing site-packages, run it elsewhere."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(REPO),
                    "-w", str(wheels)], check=True, capture_output=True, text=True)  # fmt: skip
    (wheel,) = wheels.glob("irrobust-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, text=True)  # fmt: skip
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())  # fmt: skip
    # the existing environment's packages (the pinned stack), after the venv's own; the checkout is not on it
    (site / "zz_existing_stack.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "tiny.yaml").write_text(TINY)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IRROBUST_", "IR_DATASETS", "PYTHONPATH"))}
    env.update(IRROBUST_SEED_DIR=str(seed), IRROBUST_HOME=str(tmp_path / "home"))

    where = subprocess.run([str(py), "-c", "import irrobust, sys; print(irrobust.__file__)"], cwd=work, env=env,
                           check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(venv), f"irrobust imported from {where}, not from the installed wheel"

    irrobust = venv / "bin" / "irrobust"
    ok = subprocess.run([str(irrobust), "validate", "tiny.yaml"], cwd=work, env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = work / "bad.yaml"
    bad.write_text(TINY.replace("k: 100}}]\n  - name: ql", "k: 100, nope: 1}}]\n  - name: ql"))
    rejected = subprocess.run([str(irrobust), "validate", "bad.yaml"], cwd=work, env=env, capture_output=True,
                              text=True)  # fmt: skip
    assert rejected.returncode == 2 and "nope" in rejected.stderr + rejected.stdout
    assert "Traceback" not in rejected.stderr

    run = subprocess.run([str(irrobust), "run", "tiny.yaml", "--out", "out", "--quiet"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    out = work / "out"
    assert (out / "manifest.json").is_file() and (out / "report.md").is_file()
    assert (out / "runs" / "cranfield" / "bm25.trec").is_file()
    # the workspace is IRROBUST_HOME, never the checkout
    assert (tmp_path / "home" / "indexes").is_dir()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
