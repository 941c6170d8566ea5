"""Schema of the certification task in pipeline files: ``tasks: {certify: ...}`` (CertDR, see :mod:`irrobust.certify`).

::

    tasks:
      certify:
        max_queries: 20            # seeded sample of the evaluation queries
        depth: 20                  # candidate list: the system's top 20 (K must be < depth)
        samples: 100               # Monte Carlo N (the maximum N with adaptive sampling)
        alpha: 0.05
        budgets: [null, 1, 2, 5]   # attacker budgets R (null = every word, the paper's setting)
        rules: [{rule: paper, bound: hoeffding}, {rule: max, bound: bernstein}]
        systems: [bm25, bm25>>knrm]
        system_samples: {bm25>>ce: 20}

Example:
    >>> CertifyTask().samples, CertifyTask().budgets
    (100, [None, 1, 2, 5])
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from irrobust.certify.certificate import K_GRID
from irrobust.errors import ConfigError
from irrobust.util.schema import Strict


class RuleSpec(Strict):
    """A certificate rule and its Monte Carlo bound (``paper`` requires ``hoeffding``)."""

    rule: Literal["paper", "max"]
    bound: Literal["hoeffding", "bernstein"] = "hoeffding"


class CertifyTask(Strict):
    """CertDR certification of every (or the listed) systems' top-``depth`` lists, plus exact BM25 certificates."""

    systems: list[str] | None = Field(None, max_length=64, description="systems to certify (default: all that "
                                      "can score texts)")  # fmt: skip
    max_queries: int | None = Field(20, ge=1, description="seeded sample of the evaluation queries (null: all)")
    depth: int = Field(20, ge=2, le=1000, description="candidate list length (the system's top depth)")
    samples: int = Field(100, ge=2, description="Monte Carlo samples N per document")
    system_samples: dict[str, int] = Field(default_factory=dict, description="per-system N overrides")
    system_max_queries: dict[str, int] = Field(
        default_factory=dict, description="per-system caps: the first n queries of the seeded sample (costly rankers)"
    )
    alpha: float = Field(0.05, gt=0, lt=1)
    budgets: list[int | None] = Field(default_factory=lambda: [None, 1, 2, 5], min_length=1, max_length=32)
    ks: list[int] = Field(default_factory=lambda: list(K_GRID), min_length=1, max_length=1000)
    rules: list[RuleSpec] = Field(
        default_factory=lambda: [
            RuleSpec(rule="paper"),
            RuleSpec(rule="max", bound="hoeffding"),
            RuleSpec(rule="max", bound="bernstein"),
        ],  # fmt: skip
        min_length=1,
        max_length=8,
    )
    adaptive: bool = Field(False, description="adaptive sampling (geometric schedule from n0 up to samples)")
    per_document: bool = Field(
        True, description="adaptive rounds sample only documents whose bounds still block an undecided K"
    )
    n0: int = Field(16, ge=2, description="first round of adaptive sampling (a system with N < n0: one round of N)")
    max_set: int = Field(100, ge=1, description="the cap M on the smoothing sets")
    min_freq: int = Field(2, ge=0, description="minimum corpus frequency of a vocabulary word")
    graph: Literal["mutual", "union"] = "mutual"
    neighbours: int | None = Field(
        None, ge=1, description="keep each word's first k table neighbours (the analogue of τ_sim; null: all)"
    )
    exact_bm25: bool = Field(True, description="exact deterministic certificates for BM25 systems")
    calibration_queries: int = Field(
        20, ge=2, description="training queries that fit the squashing of unbounded rankers"
    )
    threads: int = Field(1, ge=1)

    @field_validator("ks")
    @classmethod
    def _ks(cls, v: list[int]) -> list[int]:
        if any(k < 1 for k in v):
            raise ValueError("K values must be positive")
        return sorted(set(v))

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, v: list[int | None]) -> list[int | None]:
        if any(b is not None and b < 0 for b in v):
            raise ValueError("budgets are non-negative integers or null (every word)")
        return v

    @field_validator("system_samples")
    @classmethod
    def _samples(cls, v: dict[str, int]) -> dict[str, int]:
        if any(n < 2 for n in v.values()):
            raise ValueError("per-system samples must be >= 2")
        return v

    @field_validator("system_max_queries")
    @classmethod
    def _queries(cls, v: dict[str, int]) -> dict[str, int]:
        if any(n < 1 for n in v.values()):
            raise ValueError("per-system query caps must be >= 1")
        return v


def check_certify(cfg: Any, source: str) -> None:
    """Cross-field checks: listed systems exist, ``n0 <= samples``, the K grid fits the list depth.

    Example:
        >>> check_certify(type("C", (), {"tasks": type("T", (), {"certify": None})()})(), "x.yaml")
    """
    task = getattr(cfg.tasks, "certify", None)
    if task is None:
        return
    names = [s.name for s in cfg.systems]
    for key, listed in (("systems", task.systems or []), ("system_samples", list(task.system_samples)),
                        ("system_max_queries", list(task.system_max_queries))):  # fmt: skip
        for i, name in enumerate(listed):
            if name not in names:
                raise ConfigError(
                    f"unknown system {name!r}; allowed: {names}", where=f"{source}: tasks.certify.{key}[{i}]"
                )
    if task.adaptive and task.n0 > task.samples:  # a per-system N below n0 is sampled in one round
        raise ConfigError(f"n0 ({task.n0}) must not exceed the samples", where=f"{source}: tasks.certify.n0")
    if min(task.ks) >= task.depth:
        raise ConfigError(f"every K ({task.ks}) is >= depth ({task.depth}); nothing to certify",
                          where=f"{source}: tasks.certify.ks")  # fmt: skip


__all__ = ["CertifyTask", "RuleSpec", "check_certify"]
