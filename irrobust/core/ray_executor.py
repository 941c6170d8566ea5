"""Run a task's units on Ray (a private instance on this machine, or an existing cluster); Ray is imported here only.

How it works (see :mod:`irrobust.core.executor` for the contract every executor keeps):

* the task is put into Ray's object store once per :meth:`RayExecutor.map` call; each missing unit becomes a Ray
  task (``num_cpus_per_unit`` / ``num_gpus_per_unit`` resources). A worker process deserialises the task on its
  first unit and keeps it (:data:`_TASKS`), so the task's :class:`~irrobust.core.task.WorkerState` — an index, a
  model — is built once per worker process, not once per unit;
* a worker or node that dies mid-unit is not an error: Ray runs the unit again elsewhere, up to ``max_retries``
  times. An exception raised by the unit itself is not retried (a unit is a pure function: it would fail again)
  and is raised in the driver as the original exception;
* the driver collects the results **in unit order** and writes each to the store as it arrives at the front of
  the queue, so the store's files and their order do not depend on the number of workers; a driver killed and
  restarted resumes from the store.

Addresses: ``local`` starts a private Ray instance in this process with ``workers`` CPUs (stopped again by
:meth:`RayExecutor.close`); ``auto`` joins the cluster ``ray start`` made on this machine; ``host:port`` joins
that cluster's head node.

Files: a private instance keeps every file Ray writes (its session directory: sockets, logs, spilled objects; and
the authentication token Ray 2.52+ otherwise generates into ``~/.ray/auth_token``) in a temporary directory the
executor owns (``temp_dir``, or a new ``/tmp/irr-ray-*``, short because Ray's socket paths are limited), removed
again by :meth:`RayExecutor.close` when the executor made it. The instance runs with token authentication (Ray's
``RAY_AUTH_MODE=token``) and a fresh random token read from that directory (``RAY_AUTH_TOKEN_PATH``), unless the
environment configures Ray's authentication itself (``RAY_AUTH_MODE``, ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``
are then left as they are). Nothing is written to ``$HOME``.

Example:
    >>> ex = RayExecutor(address="local", workers=2)                    # doctest: +SKIP
    >>> run_task(task, UnitStore(tmp), ex); ex.close()                   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from irrobust.core.store import UnitStore, pending
from irrobust.core.task import OnResult, Task, Unit
from irrobust.errors import ConfigError, IrrobustError

#: the tasks this worker process has deserialised, by the token of the ``map`` call that shipped them
_TASKS: dict[str, Any] = {}


def require_ray() -> None:
    """Raise a :class:`~irrobust.errors.ConfigError` (exit code 2) when Ray is not installed.

    Example:
        >>> require_ray()   # doctest: +SKIP
    """
    if importlib.util.find_spec("ray") is None:
        raise ConfigError("executor 'ray' needs Ray, which is not installed; install it with "
                          "`pip install 'irrobust[ray]'` (or `pip install -r requirements-ray.txt`), or use "
                          "executor: local", where="executor")  # fmt: skip


#: Ray's C++ crash handler takes over SIGSEGV, which the JVM (Lucene via pyjnius, in the driver and in workers) uses
#: for its own purposes: a process running both dies with a segmentation fault. Ray documents the switch.
JVM_SAFE_ENV = {"RAY_DISABLE_FAILURE_SIGNAL_HANDLER": "1"}


def import_ray() -> Any:
    """Import Ray with its failure signal handler off (:data:`JVM_SAFE_ENV`), in this process and the workers it
    starts; use it instead of ``import ray`` wherever a process also runs the JVM.

    Example:
        >>> import_ray().__name__   # doctest: +SKIP
        'ray'
    """
    os.environ.update(JVM_SAFE_ENV)  # read when Ray is imported, and inherited by a local instance's workers
    import ray
    from ray._private import ray_constants

    ray_constants.RAY_DISABLE_FAILURE_SIGNAL_HANDLER = True  # in case Ray was imported before
    return ray


def _run_unit(token: str, boxed: list[Any], unit: Unit) -> Any:
    """Ray task body: this worker's copy of the task (deserialised once per worker and map call) runs ``unit``."""
    task = _TASKS.get(token)
    if task is None:
        import ray

        task = ray.get(boxed[0])  # the reference is boxed in a list so Ray does not resolve it on every call
        _TASKS.clear()
        _TASKS[token] = task
    return task.run(unit)


class RayExecutor:
    """Units as Ray tasks (see the module docstring).

    Args:
        address: ``local`` (a private instance with ``workers`` CPUs), ``auto`` or ``host:port``.
        workers: CPUs of a private instance (default: this machine's CPU count); ignored when joining a cluster.
        num_cpus_per_unit: CPUs Ray reserves for one unit.
        num_gpus_per_unit: GPUs Ray reserves for one unit (fractions share a GPU).
        max_retries: how often a unit whose worker or node died is run again.
        temp_dir: Ray's session directory of a private instance (default: a new ``/tmp/irr-ray-*`` directory,
            removed by :meth:`close`); Ray writes nothing outside it (see the module docstring).

    Example:
        >>> RayExecutor(address="local", workers=2).describe()["address"]
        'local'
    """

    kind = "ray"

    def __init__(self, address: str = "local", workers: int | None = None, num_cpus_per_unit: float = 1.0,
                 num_gpus_per_unit: float = 0.0, max_retries: int = 3, temp_dir: str | None = None) -> None:  # fmt: skip
        self.address, self.workers = address, workers
        self.num_cpus_per_unit, self.num_gpus_per_unit = float(num_cpus_per_unit), float(num_gpus_per_unit)
        self.max_retries, self.temp_dir = int(max_retries), temp_dir
        self._owned = False
        self._remote: Any = None
        self._own_dir: str | None = None  # the temporary directory this executor made (removed by close)
        self._saved_env: dict[str, str | None] = {}  # Ray's authentication variables before _private_files

    def _private_files(self) -> str:
        """The session directory of a private instance, with Ray's authentication token in it (see the module
        docstring); the environment variables it sets are restored by :meth:`close`."""
        if self.temp_dir is not None:
            Path(self.temp_dir).mkdir(parents=True, exist_ok=True)
            temp = str(self.temp_dir)
        else:
            temp = self._own_dir = tempfile.mkdtemp(prefix="irr-ray-", dir="/tmp")
        auth = {k: os.environ.get(k) for k in AUTH_ENV}
        if auth["RAY_AUTH_TOKEN"] is None and auth["RAY_AUTH_TOKEN_PATH"] is None \
                and (auth["RAY_AUTH_MODE"] or "token").lower() == "token":  # fmt: skip
            token = Path(temp) / "auth_token"
            fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            self._saved_env = auth
            os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)})
            _refresh_ray_config()
        return temp

    def describe(self) -> dict[str, Any]:
        """Provenance (for the run manifest).

        Example:
            >>> RayExecutor("auto").describe()["kind"]
            'ray'
        """
        return {"kind": self.kind, "address": self.address, "workers": self.workers,
                "num_cpus_per_unit": self.num_cpus_per_unit, "num_gpus_per_unit": self.num_gpus_per_unit,
                "max_retries": self.max_retries}  # fmt: skip

    def _start(self) -> Any:
        require_ray()
        ray = import_ray()
        if not ray.is_initialized():
            common = {"include_dashboard": False, "log_to_driver": False, "logging_level": "WARNING",
                      "configure_logging": True, "runtime_env": {"env_vars": dict(JVM_SAFE_ENV)}}  # fmt: skip
            try:
                if self.address == "local":
                    ray.init(address="local", num_cpus=int(self.workers or os.cpu_count() or 1),
                             object_store_memory=256 * 1024**2, _temp_dir=self._private_files(), **common)  # fmt: skip
                else:
                    ray.init(address=self.address, **common)
                self._owned = True
            except (ConnectionError, RuntimeError, ValueError) as exc:
                self._release_files()
                raise ConfigError(f"cannot start or join Ray at address {self.address!r}: {exc}",
                                  where="executor.address") from None  # fmt: skip
        if self._remote is None:
            total = ray.cluster_resources()  # a unit no node can hold would wait forever: refuse it now
            for what, need, key in (("CPU", self.num_cpus_per_unit, "num_cpus_per_unit"),
                                    ("GPU", self.num_gpus_per_unit, "num_gpus_per_unit")):  # fmt: skip
                if need > total.get(what, 0.0):
                    raise ConfigError(f"a unit asks for {need:g} {what}s but the Ray cluster at {self.address!r} has "
                                      f"{total.get(what, 0.0):g}", where=f"executor.{key}")  # fmt: skip
            self._remote = ray.remote(_run_unit).options(num_cpus=self.num_cpus_per_unit,
                                                         num_gpus=self.num_gpus_per_unit,
                                                         max_retries=self.max_retries, retry_exceptions=False)  # fmt: skip
        return ray

    def map(self, task: Task, units: Sequence[Unit], store: UnitStore, on_result: OnResult | None = None) -> list[Any]:
        """The results of ``units`` in order: the missing ones run on Ray, stored by the driver in unit order.

        Example:
            >>> RayExecutor("local", workers=2).map(task, task.units(), store)   # doctest: +SKIP
        """
        done, todo = pending(units, store)
        if todo:
            ray = self._start()
            token = uuid.uuid4().hex
            boxed = [ray.put(task)]
            refs = [self._remote.remote(token, boxed, unit) for unit in todo]
            try:
                for unit, ref in zip(todo, refs, strict=True):
                    done[unit.key] = store.put(unit.key, self._get(ray, ref, unit))
                    if on_result is not None:
                        on_result(unit, done[unit.key])
            except BaseException:
                for ref in refs:  # stop what is still queued or running; the store keeps what finished
                    with contextlib.suppress(Exception):  # already finished, or the cluster is gone
                        ray.cancel(ref)
                raise
        return [done[u.key] for u in units]

    def _get(self, ray: Any, ref: Any, unit: Unit) -> Any:
        from ray.exceptions import RayError, RayTaskError

        try:
            return ray.get(ref)
        except RayTaskError as exc:  # the unit raised: the original exception, as in a local run
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException):
                raise cause from None
            raise IrrobustError(f"unit {unit.label or unit.key} failed on a Ray worker: {exc}") from None
        except RayError as exc:  # workers or nodes died more than max_retries times, the cluster went away, ...
            raise IrrobustError(f"unit {unit.label or unit.key} did not finish on Ray (after up to "
                                f"{self.max_retries} retries): {type(exc).__name__}: {exc}",
                                where=f"executor ray {self.address}") from None  # fmt: skip

    def close(self) -> None:
        """Shut down the private Ray instance this executor started, or leave the cluster it joined (the cluster
        keeps running); a Ray session the caller had started before is left alone.

        Example:
            >>> RayExecutor("local").close()
        """
        if self._owned:
            import ray

            ray.shutdown()
            self._owned = False
        self._remote = None
        self._release_files()

    def _release_files(self) -> None:
        """Restore Ray's authentication variables and remove the temporary directory this executor made."""
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self._saved_env:
            self._saved_env = {}
            _refresh_ray_config()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None


#: the environment variables of Ray's token authentication (Ray >= 2.52)
AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def _refresh_ray_config() -> None:
    """Make an already imported Ray read its authentication settings again (its configuration and token loader cache
    them when first used); nothing to do before Ray is imported."""
    import sys

    if "ray" not in sys.modules:
        return
    with contextlib.suppress(Exception):  # older Ray versions have neither
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()


__all__ = ["AUTH_ENV", "JVM_SAFE_ENV", "RayExecutor", "import_ray", "require_ray"]
