"""Schema of robustness tasks 4–5 in pipeline files: ``tasks: {attacks: ...}``.

::

    tasks:
      attacks:
        max_queries: 10               # seeded sample of the evaluation queries (null: all)
        systems: [bm25, bm25>>knrm]   # default: every non-fusion system
        targets: {sets: [easy, hard], depth: 100}
        items:
          - {attack: prada}
          - {attack: random}
          - {attack: query_stuffing, params: {max_words: 10}}

Example:
    >>> AttacksTask(items=[{"attack": "random"}]).targets.depth
    100
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator

from irrobust.attacks.targets import DEFAULT_BUCKETS
from irrobust.errors import ConfigError
from irrobust.util.schema import NAME_PATTERN, Strict, validated


class AttackItem(Strict):
    """One attack: a registered recipe, its parameters, and a label naming the condition (default: the recipe).

    Example:
        >>> AttackItem(attack="prada").label is None
        True
    """

    attack: str
    params: dict[str, Any] = Field(default_factory=dict)
    label: str | None = Field(None, pattern=NAME_PATTERN, max_length=60)
    _recipe: Any = PrivateAttr(None)

    @property
    def recipe(self) -> Any:
        """The attack recipe, built once by validation (:func:`check_attacks`).

        Example:
            >>> AttackItem(attack="prada").recipe  # doctest: +IGNORE_EXCEPTION_DETAIL
            Traceback (most recent call last):
            irrobust.errors.ConfigError: attack 'prada' was not validated ...
        """
        return validated(self._recipe, f"attack {self.attack!r}")


class AttackTargets(Strict):
    """Which documents of each query's ranked list are attacked.

    Example:
        >>> AttackTargets().sets
        ['easy', 'hard']
    """

    depth: int = Field(100, ge=2, description="length of the ranked list (top-depth of the attacked system)")
    sets: list[Literal["easy", "hard"]] = Field(default_factory=lambda: ["easy", "hard"], min_length=1, max_length=2)
    buckets: list[tuple[int, int]] = Field(default_factory=lambda: list(DEFAULT_BUCKETS), max_length=100,
                                           description="rank ranges of the easy set, one draw per range")  # fmt: skip
    per_bucket: int = Field(1, ge=1)
    hard: int = Field(5, ge=1, description="the hard set: this many last documents of the list")

    @field_validator("buckets")
    @classmethod
    def _buckets(cls, v: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if any(lo < 1 or lo > hi for lo, hi in v):
            raise ValueError("each bucket is [low, high] with 1 <= low <= high")
        return v


class SurrogateSpec(Strict):
    """PRADA's surrogate (a KNRM trained by pseudo relevance feedback on the target's lists).

    Example:
        >>> SurrogateSpec().n_pos
        5
    """

    epochs: int = Field(3, ge=1)
    n_pos: int = Field(5, ge=1, description="top documents of each list treated as pseudo-relevant")
    neg_from: int = Field(10, ge=1, description="documents ranked below this are negatives")
    neg_per_pos: int = Field(8, ge=1)


class AttacksTask(Strict):
    """Tasks 4–5, adversarial documents: word-substitution attacks and term spamming against each system.

    Example:
        >>> AttacksTask(items=[{"attack": "prada"}]).max_queries
        10
    """

    items: list[AttackItem] = Field(min_length=1, max_length=32)
    systems: list[str] | None = Field(None, max_length=64, description="systems to attack (default: all but fusions)")
    max_queries: int | None = Field(10, ge=1, description="seeded sample of queries (null: all)")
    targets: AttackTargets = Field(default_factory=AttackTargets)
    surrogate: SurrogateSpec = Field(default_factory=SurrogateSpec)
    batch_size: int = Field(8, ge=1, description="candidates evaluated per speculative search step")
    target_batch: int = Field(64, ge=1, description="texts per target-model call")
    threads: int = Field(1, ge=1, description="torch threads while attacking")
    similarity: bool = Field(True, description="MiniLM cosine of original and attacked documents")


def check_attacks(cfg: Any, source: str) -> None:
    """Cross-checks of ``tasks.attacks``: recipes and parameters, labels, attacked systems.

    Example:
        >>> check_attacks(type("C", (), {"tasks": type("T", (), {"attacks": None})()})(), "p.yaml")
    """
    task = cfg.tasks.attacks
    if task is None:
        return
    from irrobust.attacks.recipe import make_attack

    labels: list[str] = []
    for i, item in enumerate(task.items):
        where = f"{source}: tasks.attacks.items[{i}]"
        item._recipe = make_attack(item.attack, where=f"{where}.params", **item.params)
        label = item.label or item.attack
        if label in labels:
            raise ConfigError(f"attack label {label!r} is used twice; set a distinct 'label'", where=f"{where}.label")
        labels.append(label)
    names = {s.name: s for s in cfg.systems}
    for i, name in enumerate(task.systems or []):
        if name not in names:
            raise ConfigError(f"{name!r} is not a system; systems: {list(names)}",
                              where=f"{source}: tasks.attacks.systems[{i}]")  # fmt: skip
        if names[name].fuse is not None:
            raise ConfigError(f"{name!r} is a fusion; fused systems cannot be attacked",
                              where=f"{source}: tasks.attacks.systems[{i}]")  # fmt: skip
