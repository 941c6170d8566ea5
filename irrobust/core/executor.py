"""Executors: who runs a task's units. In this process (:class:`LocalExecutor`) or on Ray (:mod:`ray_executor`).

Every executor has the same contract, so outputs do not depend on which one ran:

1. the units whose key already has a record in the :class:`~irrobust.core.store.UnitStore` are not run again
   (a killed or stopped run resumes where it stopped);
2. the others are run (here, or on Ray workers);
3. the driver — this process, the store's only writer — writes each new result to the store **in unit order**
   and passes on the value read back from the JSON record, so a result computed now, on another machine, or
   loaded by a resumed run is the same value;
4. ``map`` returns the results in unit order and :func:`run_task` hands them to ``task.combine``.

Example:
    >>> import tempfile
    >>> from irrobust.core.task import Unit, unit_key
    >>> class Double:
    ...     name = "double"
    ...     def units(self): return [Unit(unit_key(i), i) for i in range(3)]
    ...     def run(self, unit): return {"y": 2 * unit.inputs}
    ...     def combine(self, results): return [r["y"] for r in results]
    >>> from irrobust.core.store import UnitStore
    >>> run_task(Double(), UnitStore(tempfile.mkdtemp()), LocalExecutor())
    [0, 2, 4]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from irrobust.core.store import UnitStore, pending
from irrobust.core.task import OnResult, Task, Unit
from irrobust.errors import ConfigError


@runtime_checkable
class Executor(Protocol):
    """Runs units of a task (see the module docstring).

    Example:
        >>> isinstance(LocalExecutor(), Executor)
        True
    """

    def map(self, task: Task, units: Sequence[Unit], store: UnitStore, on_result: OnResult | None = None) -> list[Any]:
        """The results of ``units`` in their order, loaded from ``store`` or computed and stored."""
        ...

    def close(self) -> None:
        """Release what the executor started (a local Ray instance)."""
        ...


class LocalExecutor:
    """Run units one after the other in this process, in unit order (the default; today's behaviour).

    Example:
        >>> import tempfile
        >>> from irrobust.core.task import unit_key
        >>> class Id:
        ...     name = "id"
        ...     def run(self, unit): return unit.inputs
        >>> LocalExecutor().map(Id(), [Unit(unit_key(1), 1)], UnitStore(tempfile.mkdtemp()))
        [1]
    """

    kind = "local"

    def map(self, task: Task, units: Sequence[Unit], store: UnitStore, on_result: OnResult | None = None) -> list[Any]:
        """The results of ``units`` in order; each missing one computed by ``task.run`` and stored at once."""
        done, todo = pending(units, store)
        for unit in todo:
            done[unit.key] = store.put(unit.key, task.run(unit))
            if on_result is not None:
                on_result(unit, done[unit.key])
        return [done[u.key] for u in units]

    def close(self) -> None:
        """Nothing to release.

        Example:
            >>> LocalExecutor().close()
        """

    def describe(self) -> dict[str, Any]:
        """Provenance (for the run manifest).

        Example:
            >>> LocalExecutor().describe()
            {'kind': 'local'}
        """
        return {"kind": self.kind}


def run_task(task: Task, store: UnitStore, executor: Executor | None = None, on_result: OnResult | None = None) -> Any:
    """Run every unit of ``task`` (resuming from ``store``) and return ``task.combine`` of the results.

    Example:
        >>> run_task(task, UnitStore(rd.file("checkpoints/x")), LocalExecutor())   # doctest: +SKIP
    """
    executor = executor if executor is not None else LocalExecutor()
    units = task.units()
    return task.combine(executor.map(task, units, store, on_result))


def make_executor(kind: str = "local", **settings: Any) -> Any:
    """An executor from its configuration (``kind`` ``local`` or ``ray``; Ray's settings, see
    :class:`irrobust.core.ray_executor.RayExecutor`). Ray is imported only when a Ray executor starts its first
    task; asking for it without Ray installed is a :class:`~irrobust.errors.ConfigError`.

    Example:
        >>> make_executor("local").kind
        'local'
        >>> make_executor("slurm")   # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: executor: unknown executor 'slurm'; allowed: local, ray
    """
    if kind == "local":
        return LocalExecutor()
    if kind == "ray":
        from irrobust.core.ray_executor import RayExecutor, require_ray

        require_ray()
        return RayExecutor(**settings)
    raise ConfigError(f"unknown executor {kind!r}; allowed: local, ray", where="executor")


__all__ = ["Executor", "LocalExecutor", "make_executor", "pending", "run_task"]
