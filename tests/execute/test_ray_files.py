"""Ray keeps its files where irrobust tells it (issue 14): a private Ray instance writes nothing to ``$HOME`` (Ray
2.52+ generates ``~/.ray/auth_token`` by default), its session directory and authentication token live in a
temporary directory the executor owns, removed when the executor closes, and the environment is restored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("ray")

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from irrobust.core.executor import run_task
    from irrobust.core.ray_executor import RayExecutor
    from irrobust.core.store import UnitStore
    from irrobust.core.task import Unit, unit_key

    class Squares:
        name = "squares"
        def units(self): return [Unit(unit_key("sq", i), i, str(i)) for i in range(4)]
        def run(self, unit): return {"x": unit.inputs ** 2}
        def combine(self, results): return [r["x"] for r in results]

    temp = sys.argv[2] if len(sys.argv) > 2 else None
    ex = RayExecutor(address="local", workers=1, temp_dir=temp)
    out = run_task(Squares(), UnitStore(sys.argv[1]), ex)
    during = {"dir": ex._own_dir or temp, "mode": os.environ.get("RAY_AUTH_MODE"),
              "token_path": os.environ.get("RAY_AUTH_TOKEN_PATH")}
    during["token_there"] = bool(during["token_path"]) and Path(during["token_path"]).is_file()
    ex.close()
    after = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH")}
    print(json.dumps({"out": out, "during": during, "after": after}))
""")


def _run(tmp_path: Path, *args: str) -> dict:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update({"HOME": str(home), "IRROBUST_THREADS": "1", "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"})
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "store"), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.relative_to(home).as_posix() for p in home.rglob("*")) == [], "Ray wrote into $HOME"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_private_ray_instance_writes_nothing_to_home_and_removes_its_own_directory(tmp_path):
    res = _run(tmp_path)
    assert res["out"] == [0, 1, 4, 9]
    own = Path(res["during"]["dir"])
    assert own.name.startswith("irr-ray-") and res["during"]["mode"] == "token" and res["during"]["token_there"]
    assert Path(res["during"]["token_path"]).parent == own  # the token in the executor's own directory
    assert not own.exists()  # removed by close()
    assert res["after"] == {"RAY_AUTH_MODE": None, "RAY_AUTH_TOKEN_PATH": None}  # the environment restored


@pytest.mark.slow  # a second Ray start: ~15 s idle, ~50 s at load
def test_a_given_temp_dir_holds_the_session_and_the_token_and_is_kept(tmp_path):
    import tempfile

    temp = Path(tempfile.mkdtemp(prefix="irr-t-", dir="/tmp"))  # short: Ray's socket paths are limited
    try:
        res = _run(tmp_path, str(temp))
        assert res["out"] == [0, 1, 4, 9]
        assert (temp / "auth_token").is_file() and any(temp.glob("session_*"))
    finally:
        import shutil

        shutil.rmtree(temp, ignore_errors=True)
