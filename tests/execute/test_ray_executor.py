"""The Ray executor on a private 2-CPU Ray instance: the same outputs as in-process, the task state built once per
worker, a killed worker's unit run again, a stopped driver resumed from the store."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from irrobust.core.executor import LocalExecutor, run_task
from irrobust.core.store import UnitStore
from irrobust.core.task import Unit, WorkerState, unit_key
from irrobust.errors import IrrobustError

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def ray_session(tmp_path_factory):
    """One private Ray instance (2 CPUs) for the module; the executors under test join it."""
    from ray import cloudpickle

    from irrobust.core.ray_executor import import_ray

    import_ray()  # the JVM-safe Ray: this pytest process runs Lucene before and after
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import this test module
    temp = Path("/tmp") / f"irr-ray-{os.getpid()}"  # Ray's socket paths must stay short
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=128 * 1024**2,
             _temp_dir=str(temp))  # fmt: skip
    yield
    ray.shutdown()
    import shutil

    shutil.rmtree(temp, ignore_errors=True)


def _build(marks: str) -> dict:
    """A task's heavy state; leaves one marker file per build (per process) in ``marks``."""
    Path(marks, f"{os.getpid()}-{os.urandom(4).hex()}").touch()
    return {"offset": 1000}


class Mix:
    """A tiny task whose results depend on the unit's inputs and the (worker-built) state only."""

    name = "mix"

    def __init__(self, n: int, marks: str, crash_once: str | None = None) -> None:
        self.n, self.crash_once = n, crash_once
        self.state = WorkerState(_Factory(marks))

    def units(self) -> list[Unit]:
        return [Unit(unit_key("mix", i), i, str(i)) for i in range(self.n)]

    def run(self, unit: Unit) -> dict:
        if self.crash_once and unit.inputs == 3 and not Path(self.crash_once).exists():
            Path(self.crash_once).touch()
            os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-unit, once
        st = self.state.get()
        return {"i": unit.inputs, "v": [unit.inputs * 0.1, st["offset"] + unit.inputs**2], "s": f"u{unit.inputs}"}

    def combine(self, results):
        return [r["v"] for r in results]


class _Factory:
    def __init__(self, marks: str) -> None:
        self.marks = marks

    def __call__(self) -> dict:
        return _build(self.marks)


def _store_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def test_ray_and_local_give_identical_results_and_checkpoints(ray_session, tmp_path):
    from irrobust.core.ray_executor import RayExecutor

    marks = tmp_path / "marks"
    marks.mkdir()
    local = run_task(Mix(24, str(marks)), UnitStore(tmp_path / "local"), LocalExecutor())
    for p in marks.iterdir():
        p.unlink()
    remote = run_task(Mix(24, str(marks)), UnitStore(tmp_path / "ray"), RayExecutor(address="auto"))
    assert remote == local
    assert _store_bytes(tmp_path / "ray") == _store_bytes(tmp_path / "local")
    # the state was built once per worker process, not once per unit
    pids = {p.name.split("-")[0] for p in marks.iterdir()}
    assert 1 <= len(list(marks.iterdir())) <= 2 and len(pids) == len(list(marks.iterdir()))


@pytest.mark.slow  # worker restarts: 5-20 s on an idle machine, minutes on a loaded one
def test_a_worker_killed_mid_unit_is_retried(ray_session, tmp_path):
    from irrobust.core.ray_executor import RayExecutor

    marks = tmp_path / "marks"
    marks.mkdir()
    flag = str(tmp_path / "crashed")
    out = run_task(Mix(8, str(marks), crash_once=flag), UnitStore(tmp_path / "s"), RayExecutor("auto", max_retries=2))
    assert Path(flag).exists()  # the worker did die
    assert out == run_task(Mix(8, str(marks)), UnitStore(tmp_path / "l"), LocalExecutor())
    # without retries the death is a clear error, and what finished before it stays in the store
    flag2 = str(tmp_path / "crashed2")
    with pytest.raises(IrrobustError, match="did not finish on Ray"):
        run_task(Mix(8, str(marks), crash_once=flag2), UnitStore(tmp_path / "s2"), RayExecutor("auto", max_retries=0))
    assert 0 < len(list((tmp_path / "s2").rglob("*.json"))) <= 3


class Stop(Exception):
    pass


@pytest.mark.slow  # worker restarts: 5-20 s on an idle machine, minutes on a loaded one
def test_a_stopped_driver_resumes_from_the_store(ray_session, tmp_path):
    from irrobust.core.ray_executor import RayExecutor

    marks = tmp_path / "marks"
    marks.mkdir()
    written = []

    def stop(unit, res):
        written.append(unit.inputs)
        if len(written) == 5:
            raise Stop

    with pytest.raises(Stop):
        run_task(Mix(16, str(marks)), UnitStore(tmp_path / "s"), RayExecutor("auto"), stop)
    assert written == [0, 1, 2, 3, 4]  # the driver writes in unit order, whichever worker finished first
    computed = []
    out = run_task(Mix(16, str(marks)), UnitStore(tmp_path / "s"), RayExecutor("auto"),
                   lambda u, r: computed.append(u.inputs))  # fmt: skip
    assert computed == list(range(5, 16))
    assert out == run_task(Mix(16, str(marks)), UnitStore(tmp_path / "l"), LocalExecutor())


def test_a_unit_error_is_raised_as_itself(ray_session, tmp_path):
    from irrobust.core.ray_executor import RayExecutor

    class Bad(Mix):
        def run(self, unit):
            if unit.inputs == 2:
                raise IrrobustError("unit 2 is bad", where="test")
            return super().run(unit)

    marks = tmp_path / "marks"
    marks.mkdir()
    with pytest.raises(IrrobustError, match="unit 2 is bad") as info:
        run_task(Bad(6, str(marks)), UnitStore(tmp_path / "s"), RayExecutor("auto"))
    assert info.value.where == "test"  # the unit's own exception, not a wrapper around it


def test_units_no_node_can_hold_are_refused(ray_session, tmp_path):
    from irrobust.core.ray_executor import RayExecutor
    from irrobust.errors import ConfigError

    marks = tmp_path / "marks"
    marks.mkdir()
    for settings, key in (({"num_cpus_per_unit": 3}, "num_cpus_per_unit"), ({"num_gpus_per_unit": 1}, "num_gpus")):
        with pytest.raises(ConfigError, match="has") as info:
            run_task(Mix(2, str(marks)), UnitStore(tmp_path / key), RayExecutor("auto", **settings))
        assert info.value.where.startswith(f"executor.{key}")
