"""The task protocol: a robustness study is a list of independent units, run one by one, then combined.

A **task** (certify one system's queries, attack one system's target documents, ...) is a small object with

* ``units() -> list[Unit]``: the units of work, in a fixed order; each :class:`Unit` carries its inputs and a
  stable ``key``, the content hash of everything its result depends on (:func:`unit_key`);
* ``run(unit) -> dict``: one unit's result, a pure function of the unit's inputs and the task's settings, as
  plain JSON data (the checkpoint store keeps it as JSON; a result read back from the store equals a fresh one);
* ``combine(results) -> output``: the unit results, in unit order, folded into the task's typed output (a
  dataclass).

Tasks are picklable, so an executor can ship them to other processes or machines
(:mod:`irrobust.core.executor`). What is expensive to build and cannot be pickled (a Lucene index, a loaded
model) lives in a :class:`WorkerState`: built from a picklable factory the first time a process needs it, never
pickled itself (the driver may hand over the objects it already has, so an in-process run builds nothing twice).

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Squares:
    ...     n: int
    ...     name: str = "squares"
    ...     def units(self): return [Unit(unit_key("sq", i), i, str(i)) for i in range(self.n)]
    ...     def run(self, unit): return {"x": unit.inputs ** 2}
    ...     def combine(self, results): return sum(r["x"] for r in results)
    >>> t = Squares(4)
    >>> t.combine([t.run(u) for u in t.units()])
    14
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from irrobust.errors import ConfigError
from irrobust.util.io import sha256_json

T = TypeVar("T")


def unit_key(*parts: Any) -> str:
    """The stable key of a unit: the SHA-256 of the canonical JSON of its inputs and settings.

    Equal inputs give equal keys in every process and on every machine (sorted-key JSON, no object identity);
    anything that can change a unit's result must be among ``parts``.

    Example:
        >>> unit_key({"qid": "1"}, 5) == unit_key({"qid": "1"}, 5), len(unit_key("x"))
        (True, 64)
    """
    return sha256_json(list(parts))


@dataclass(frozen=True)
class Unit:
    """One unit of work: its key (:func:`unit_key`), its inputs (picklable), and a short label for progress lines.

    Example:
        >>> Unit(unit_key("q1"), {"qid": "q1"}, "q1").label
        'q1'
    """

    key: str
    inputs: Any
    label: str = ""


@runtime_checkable
class Task(Protocol):
    """What an executor runs (see the module docstring).

    Example:
        >>> isinstance(object(), Task)
        False
    """

    name: str

    def units(self) -> list[Unit]:
        """The units, in the order their results are combined."""
        ...

    def run(self, unit: Unit) -> dict[str, Any]:
        """One unit's result (JSON data), a pure function of the unit's inputs and the task's settings."""
        ...

    def combine(self, results: Sequence[dict[str, Any]]) -> Any:
        """The typed output from the results of :meth:`units`, in unit order."""
        ...


class WorkerState(Generic[T]):
    """Heavy per-process state of a task: built by ``factory()`` on first use, dropped when pickled.

    ``value`` hands over an already built state (the driver's own objects for an in-process run). A pickled
    copy keeps only the factory, so the receiving process builds its own state once, on its first unit.

    Example:
        >>> import pickle
        >>> s = WorkerState(dict, value={"model": "loaded"})
        >>> s.get(), pickle.loads(pickle.dumps(s)).get()
        ({'model': 'loaded'}, {})
    """

    def __init__(self, factory: Callable[[], T], value: T | None = None) -> None:
        self.factory = factory
        self._value = value

    def get(self) -> T:
        """The state, built now if this process has none yet."""
        if self._value is None:
            self._value = self.factory()
        return self._value

    @classmethod
    def driver_only(cls, value: T, what: str, where: str) -> WorkerState[T]:
        """State that exists only in this (the driver's) process: ``value``, built by the caller. A copy sent to
        another process cannot rebuild it and raises a :class:`ConfigError` naming ``what`` when first used.

        Example:
            >>> import pickle
            >>> s = WorkerState.driver_only({"model": "loaded"}, "this ranker", "executor")
            >>> pickle.loads(pickle.dumps(s)).get()  # doctest: +IGNORE_EXCEPTION_DETAIL
            Traceback (most recent call last):
            irrobust.errors.ConfigError: executor: this ranker cannot be rebuilt in another process ...
        """
        return cls(functools.partial(_not_in_workers, what, where), value)

    @property
    def loaded(self) -> bool:
        """Whether this process holds the state already.

        Example:
            >>> WorkerState(dict).loaded
            False
        """
        return self._value is not None

    def __getstate__(self) -> dict[str, Any]:
        return {"factory": self.factory}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.factory, self._value = state["factory"], None


def _not_in_workers(what: str, where: str) -> Any:
    raise ConfigError(f"{what} cannot be rebuilt in another process (given as objects, they exist only in the "
                      "driver's process); give a WorkerState with a factory, or run with executor: local", where=where)


#: called by the driver after each unit computed in a call (not for results loaded from the store)
OnResult = Callable[[Unit, Any], None]

__all__ = ["OnResult", "Task", "Unit", "WorkerState", "unit_key"]
