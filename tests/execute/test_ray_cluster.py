"""A real two-node Ray cluster on one machine (issue 14): a head node and a second node started as separate
``ray start`` processes on loopback (one CPU each, their own temp dirs and ports), a small certification and a
small attack pipeline run on it with ``--ray-address``, outputs equal to the in-process executor's; then the second
node is killed mid-run and the run still completes with the same outputs. The cluster is always torn down (its
processes, found by their temp dirs, are killed by id; nothing else is touched)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray")

PIPELINES = Path(__file__).parent / "pipelines"
RAY = Path(sys.executable).parent / "ray"


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _pids_of(temp_dir: Path) -> list[int]:
    """Processes whose command line names ``temp_dir`` (a node's raylet, its workers and helpers)."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(temp_dir) in cmd:
            out.append(int(proc.name))
    return out


def _kill_node(temp_dir: Path) -> int:
    pids = _pids_of(temp_dir)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


class Cluster:
    """A head node and one worker node on 127.0.0.1, each with one CPU."""

    def __init__(self, root: Path) -> None:
        self.head_dir, self.node_dir = root / "h", root / "n"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
        # loopback only: no token authentication (Ray 2.5x enables it for a local cluster when ~/.ray holds a
        # token, and a node joining with another setting is refused)
        self.env.update({"IRROBUST_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                         "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
                         "RAY_DISABLE_FAILURE_SIGNAL_HANDLER": "1"})  # fmt: skip  (workers run the JVM)
        self.address = ""

    def _start(self, temp: Path, extra: list[str]) -> None:
        p = _free_ports(8)
        args = [str(RAY), "start", "--num-cpus", "1", "--temp-dir", str(temp), "--node-ip-address", "127.0.0.1",
                "--node-manager-port", str(p[0]), "--object-manager-port", str(p[1]),
                "--metrics-export-port", str(p[2]), "--dashboard-agent-listen-port", str(p[3]),
                "--dashboard-agent-grpc-port", str(p[4]), "--runtime-env-agent-port", str(p[5]),
                "--min-worker-port", "0", "--max-worker-port", "0", "--disable-usage-stats",
                "--object-store-memory", str(128 * 1024**2), *extra]  # fmt: skip
        proc = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]

    def start(self) -> None:
        port, client = _free_ports(2)
        self._start(self.head_dir, ["--head", "--port", str(port), "--ray-client-server-port", str(client),
                                    "--include-dashboard", "false"])  # fmt: skip
        self.address = f"127.0.0.1:{port}"
        self._start(self.node_dir, ["--address", self.address])

    def stop(self) -> None:
        for temp in (self.node_dir, self.head_dir):
            _kill_node(temp)


@pytest.fixture
def cluster():
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="irr-rc-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    c = Cluster(root)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def _cli(pipe: Path, out: Path, cluster: Cluster) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "irrobust.cli", "run", str(pipe), "--out", str(out), "--quiet",
                             "--ray-address", cluster.address], env=cluster.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _records(out: Path) -> int:
    return sum(1 for p in out.rglob("*.json") if p.parent.parent.name in ("units", "smoothed", "exact"))


@pytest.mark.slow
def test_two_node_cluster_gives_the_local_outputs_also_when_a_node_dies(tmp_path, cran_index, cluster, run_outputs,
                                                                        before):  # fmt: skip
    # both pipelines on the two-node cluster: the in-process executor's outputs (tests/execute/before, which
    # test_regression.py checks the local executor still gives)
    for name in ("certify_small", "attack_small"):
        proc = _cli(PIPELINES / f"{name}.yaml", tmp_path / name, cluster)
        log, _ = proc.communicate(timeout=1500)
        assert proc.returncode == 0, log[-3000:]
        assert run_outputs(tmp_path / name) == before(name), name
    # the second node dies while the attack pipeline runs: its units are retried on the head node
    out = tmp_path / "killed"
    proc = _cli(PIPELINES / "attack_small.yaml", out, cluster)
    deadline = time.time() + 600
    while _records(out) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, "the run finished before the node could be killed"
    assert _kill_node(cluster.node_dir) > 0
    log, _ = proc.communicate(timeout=1500)
    assert proc.returncode == 0, log[-3000:]
    assert run_outputs(out) == before("attack_small")
