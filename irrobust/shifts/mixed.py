"""A composition of query shifts applied to each query in turn.

Example:
    >>> from irrobust.shifts import Keywordize, Reorder
    >>> m = Mixed([Keywordize(), Reorder()], seed=0)
    >>> r = m.shift_query("What is the effect of salt on blood pressure?", "q1")
    >>> sorted(r.query.split()), r.changed
    (['blood', 'effect', 'pressure', 'salt'], True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from irrobust.errors import ConfigError
from irrobust.shifts.base import QueryShift
from irrobust.shifts.text import Rng


class Mixed(QueryShift):
    """Apply several shifts to each query, in the listed order (or ``k`` of them drawn per query).

    Each query's RNG is seeded from ``(seed, "mixed", qid)``; it draws the ``k`` steps and one seed per
    step, so the ``seed`` of the Mixed stage governs all steps (the steps' own seeds are not used). A step that cannot change the
    query (or would empty it) is skipped; the variant is flagged ``changed`` when its words differ from
    the original's.

    Args:
        shifts: shift stages (names and specs such as ``{"name": "typos", "rate": 0.5}`` are built by
            :func:`irrobust.shifts.make_shift`, ``make_shift("mixed", shifts=["typos", ...])``).
        seed: RNG seed.
        k: if given, apply ``k`` of the shifts chosen per query (kept in the listed order).
        name: label for the ``shift`` column.

    Example:
        >>> from irrobust.shifts import DropWords, Typos
        >>> Mixed([Typos(), DropWords(rate=0.5)], k=1).spec()["k"]
        1
    """

    kind = "mixed"

    def __init__(
        self,
        shifts: Sequence[QueryShift | str | Mapping[str, Any]],
        seed: int = 0,
        k: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(seed, name)
        if isinstance(shifts, (str, Mapping)) or not isinstance(shifts, Sequence) or not shifts:
            raise ConfigError("shifts must be a non-empty list of shifts", where="shifts")
        steps: list[QueryShift] = []
        for i, step in enumerate(shifts):
            if not isinstance(step, QueryShift):
                raise ConfigError(f"a step of a mixed shift must be a shift stage, got {step!r} (build steps from "
                                  "names with make_shift('mixed', shifts=[...]))", where=f"shifts[{i}]")  # fmt: skip
            if isinstance(step, Mixed):
                raise ConfigError("a mixed shift cannot contain another mixed shift", where=f"shifts[{i}]")
            steps.append(step)
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(steps)):
            raise ConfigError(f"k must be an integer in 1..{len(steps)} or null, got {k!r}", where="k")
        self.shifts = steps
        self.k = k

    def params(self) -> dict[str, Any]:
        return {"seed": self.seed, "k": self.k, "shifts": [s.spec() for s in self.shifts]}

    def apply(self, query: str, rng: Rng) -> tuple[str, str]:
        order = list(range(len(self.shifts)))
        if self.k is not None:
            order = sorted(rng.sample(order, self.k))
        text, reasons = query, []
        for i in order:
            step = self.shifts[i]
            res = step.shift_with(text, Rng(self.seed, self.kind, i, step.kind, rng.random()))
            if res.changed:
                text = res.query
            else:
                reasons.append(f"{step.name}: {res.fallback}")
        return text, "; ".join(reasons)
