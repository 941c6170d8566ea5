"""The task protocol and the in-process executor: unit order, resume from the store, each key computed once."""

from __future__ import annotations

import pickle

import pytest

from irrobust.core.executor import LocalExecutor, make_executor, run_task
from irrobust.core.store import UnitStore
from irrobust.core.task import Unit, WorkerState, unit_key
from irrobust.errors import ConfigError


class Stop(Exception):
    pass


class Powers:
    """A tiny task: unit i gives i ** p (units listed in a scrambled but fixed order, one key repeated)."""

    name = "powers"

    def __init__(self, n: int, p: int = 2) -> None:
        self.n, self.p, self.calls = n, p, []

    def units(self) -> list[Unit]:
        order = [(7 * i) % self.n for i in range(self.n)] + [0]  # unit 0 twice: computed once
        return [Unit(unit_key("powers", self.p, i), i, str(i)) for i in order]

    def run(self, unit: Unit) -> dict:
        self.calls.append(unit.inputs)
        return {"i": unit.inputs, "v": unit.inputs**self.p}

    def combine(self, results):
        return [r["v"] for r in results]


def test_results_come_in_unit_order_and_each_key_runs_once(tmp_path):
    task = Powers(10)
    out = run_task(task, UnitStore(tmp_path), LocalExecutor())
    assert out == [u.inputs**2 for u in task.units()]
    assert task.calls == [u.inputs for u in task.units()[:-1]]  # in unit order, the repeated key once
    assert len(list(tmp_path.rglob("*.json"))) == 10


def test_a_stopped_run_resumes_from_the_store_and_computes_only_the_rest(tmp_path):
    task = Powers(10)
    seen = []

    def stop_after_four(unit, res):
        seen.append(unit.key)
        if len(seen) == 4:
            raise Stop

    with pytest.raises(Stop):
        run_task(task, UnitStore(tmp_path), LocalExecutor(), stop_after_four)
    again, computed = Powers(10), []
    out = run_task(again, UnitStore(tmp_path), LocalExecutor(), lambda u, r: computed.append(u.key))
    assert len(computed) == 6 and not set(computed) & set(seen)
    assert out == run_task(Powers(10), UnitStore(tmp_path / "fresh"), LocalExecutor())
    # other settings are other units: nothing is reused
    assert len(Powers(10, p=3).units()[0].key) == 64
    assert run_task(Powers(10, p=3), UnitStore(tmp_path), LocalExecutor())[1] == Powers(10).units()[1].inputs ** 3


def test_unit_keys_are_content_hashes():
    assert unit_key({"a": 1, "b": [1, 2]}) == unit_key({"b": [1, 2], "a": 1})
    assert unit_key({"a": 1}) != unit_key({"a": 2}) != unit_key({"a": "1"})


def test_worker_state_is_built_once_and_never_pickled():
    built = []

    def factory():
        built.append(1)
        return {"model": len(built)}

    state = WorkerState(factory)
    assert state.get() is state.get() and built == [1]
    copy = pickle.loads(pickle.dumps(WorkerState(_plain_factory, value={"unpicklable": lambda: 0})))
    assert not copy.loaded and copy.get() == {"built": True}


def _plain_factory():
    return {"built": True}


def test_make_executor_refuses_unknown_kinds():
    assert make_executor("local").kind == "local"
    with pytest.raises(ConfigError, match="allowed: local, ray"):
        make_executor("threads")
