"""Who runs a pipeline's task units: ``executor:`` of retrieval and recommender pipeline files.

::

    executor: ray                                   # a private Ray instance on this machine
    executor: {kind: ray, address: auto, num_cpus_per_unit: 1}

Example:
    >>> ExecutorSpec.model_validate("ray").kind
    'ray'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from irrobust.errors import ConfigError
from irrobust.util.schema import Strict


class ExecutorSpec(Strict):
    """Who runs the units of the tasks (:mod:`irrobust.core.executor`); outputs are identical whichever does.

    ``executor: local`` (the default: in this process, one unit after the other) or ``executor: ray`` /
    ``executor: {kind: ray, address: auto, num_cpus_per_unit: 1}`` (units as Ray tasks; needs ``irrobust[ray]``).
    """

    kind: Literal["local", "ray"] = "local"
    address: str = Field("local", max_length=300, pattern=r"^(local|auto|(ray://)?[A-Za-z0-9_.:\[\]-]+:[0-9]{1,5})$",
                         description="ray: `local` (a private Ray instance on this machine), `auto` (the cluster "
                         "`ray start` made here) or `host:port` of a cluster's head node")  # fmt: skip
    workers: int | None = Field(None, ge=1, le=4096, description="ray, address local: CPUs of the private instance "
                                "(default: this machine's)")  # fmt: skip
    num_cpus_per_unit: float = Field(1.0, gt=0, le=1024, description="ray: CPUs reserved per unit")
    num_gpus_per_unit: float = Field(0.0, ge=0, le=64, description="ray: GPUs reserved per unit (fractions share one)")
    max_retries: int = Field(3, ge=0, le=100, description="ray: reruns of a unit whose worker or node died")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: Any) -> Any:
        if isinstance(data, str):  # `executor: ray` is `executor: {kind: ray}`
            if data not in ("local", "ray"):
                raise ValueError(f"unknown executor {data!r}; allowed: local, ray")
            return {"kind": data}
        return data

    @model_validator(mode="after")
    def _ray_settings(self) -> ExecutorSpec:
        if self.kind == "local" and self.model_fields_set - {"kind"}:
            raise ValueError(f"{sorted(self.model_fields_set - {'kind'})} apply to executor kind 'ray' only")
        return self

    def make(self) -> Any:
        """The executor (:func:`irrobust.core.executor.make_executor`).

        Example:
            >>> ExecutorSpec().make().kind
            'local'
        """
        from irrobust.core.executor import make_executor

        if self.kind == "local":
            return make_executor("local")
        return make_executor("ray", **self.model_dump(exclude={"kind"}))


def check_executor(spec: ExecutorSpec, source: str) -> None:
    """``executor: ray`` needs Ray installed (a located error, exit code 2, before anything runs).

    Example:
        >>> check_executor(ExecutorSpec(), "p.yaml")
    """
    if spec.kind == "ray":
        from irrobust.core.ray_executor import require_ray

        try:
            require_ray()
        except ConfigError as exc:
            raise ConfigError(exc.message, where=f"{source}: executor") from None


__all__ = ["ExecutorSpec", "check_executor"]
