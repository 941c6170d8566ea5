"""The query-shift stage: one seeded variant per query, with a record of what changed.

Output contract (one row per input query, same order):

* ``qid`` — unchanged, so qrels join the variant directly and pairing with the clean run is by ``qid``;
* ``query`` — the variant (never empty: the original is kept when a shift would empty it);
* ``variant_of`` — the original qid (equal to ``qid``; kept from the input when shifts are chained);
* ``shift`` — the shift's label (``"typos"``...; chained shifts give ``"typos+reorder"``);
* ``changed`` — whether the variant's words differ from the original's (punctuation/whitespace-only
  differences do not count);
* ``fallback`` — why the query was left unchanged (``""`` when it changed), e.g. ``"no eligible words"``.

A table holding the clean run and several shifts is keyed by ``(qid, shift)``.
Each query's RNG is seeded from ``(seed, shift kind, qid)``, so results do not depend on query order.

Example:
    >>> import pandas as pd
    >>> from irrobust.shifts import Reorder
    >>> out = Reorder(seed=1)(pd.DataFrame({"qid": ["7"], "query": ["red blood cells"]}))
    >>> out.columns.tolist()
    ['qid', 'query', 'variant_of', 'shift', 'changed', 'fallback']
    >>> sorted(out["query"][0].split()), bool(out["changed"][0])
    (['blood', 'cells', 'red'], True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pandas as pd

from irrobust.core.transformer import Transformer, check_columns
from irrobust.errors import ConfigError, IrrobustError
from irrobust.shifts.text import Rng, words

SHIFT_COLUMNS = ("variant_of", "shift", "changed", "fallback")


@dataclass(frozen=True)
class ShiftResult:
    """One query's variant: the text, whether its words changed, and why not (``fallback``).

    Example:
        >>> ShiftResult("a b", True).fallback
        ''
    """

    query: str
    changed: bool
    fallback: str = ""


@dataclass(frozen=True)
class ShiftStats:
    """Counts from the last :meth:`QueryShift.transform` call.

    Example:
        >>> ShiftStats("typos", 10, 7).n_unchanged
        3
    """

    shift: str
    n_queries: int
    n_changed: int

    @property
    def n_unchanged(self) -> int:
        """Queries the shift left as they were.

        Example:
            >>> ShiftStats("x", 2, 2).n_unchanged
            0
        """
        return self.n_queries - self.n_changed


def finalize(original: str, variant: str, reason: str = "") -> ShiftResult:
    """Turn a raw variant into a :class:`ShiftResult`: never empty, original text when words are equal.

    Example:
        >>> finalize("the of", "", "")
        ShiftResult(query='the of', changed=False, fallback='empty result')
        >>> finalize("a b.", "a b", "")
        ShiftResult(query='a b.', changed=False, fallback='unchanged')
    """
    new_words = words(variant)
    if not new_words:
        return ShiftResult(original, False, reason or "empty result")
    if new_words == words(original):
        return ShiftResult(original, False, reason or "unchanged")
    return ShiftResult(variant, True, "")


def check_rate(rate: float, key: str = "rate") -> float:
    """Validate a share in (0, 1]; raise :class:`ConfigError` naming ``key`` otherwise.

    Example:
        >>> check_rate(0.5)
        0.5
    """
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a number in (0, 1], got {rate!r}", where=key) from None
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"{key} must be in (0, 1], got {rate!r}", where=key)
    return value


def n_to_pick(rate: float, n_eligible: int) -> int:
    """How many of ``n_eligible`` items a shift of ``rate`` changes: ``round(rate * n)``, at least 1.

    Example:
        >>> n_to_pick(0.25, 3), n_to_pick(0.25, 10), n_to_pick(0.25, 0)
        (1, 3, 0)
    """
    if n_eligible <= 0:
        return 0
    return min(n_eligible, max(1, int(rate * n_eligible + 0.5)))


class QueryShift(Transformer):
    """Base class of the query shifts: subclasses implement :meth:`apply` on one query string.

    Args:
        seed: seeds each query's RNG together with the shift kind and the qid.
        name: label for the ``shift`` column (default: the registry name, e.g. ``"typos"``).

    Example:
        >>> from irrobust.shifts import Keywordize
        >>> Keywordize().shift_query("What is the effect of X on Y?").query
        'effect X Y'
    """

    kind: ClassVar[str] = ""

    def __init__(self, seed: int = 0, name: str | None = None) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}", where="seed")
        self.seed = seed
        self.name = name or self.kind
        self.last_stats: ShiftStats | None = None

    def params(self) -> dict[str, Any]:
        """The shift's parameters (for :meth:`spec`).

        Example:
            >>> from irrobust.shifts import Reorder
            >>> Reorder(seed=3).params()
            {'seed': 3}
        """
        return {"seed": self.seed}

    def spec(self) -> dict[str, Any]:
        """Type, label and parameters, JSON-able.

        Example:
            >>> from irrobust.shifts import Reorder
            >>> Reorder().spec()
            {'type': 'Reorder', 'name': 'reorder', 'seed': 0}
        """
        return {"type": type(self).__name__, "name": self.name, **self.params()}

    def apply(self, query: str, rng: Rng) -> tuple[str, str]:
        """Shift one query; return ``(variant, reason)`` where ``reason`` says why it could not change.

        Example:
            >>> from irrobust.shifts import Reorder
            >>> Reorder().apply("cells", Rng(0))
            ('cells', 'fewer than 2 distinct words')
        """
        raise NotImplementedError(f"{type(self).__name__} must implement apply()")

    def rng_for(self, qid: object) -> Rng:
        """The RNG of one query: seeded from ``(seed, kind, qid)``.

        Example:
            >>> from irrobust.shifts import Reorder
            >>> Reorder(seed=1).rng_for("5").random() == Reorder(seed=1).rng_for("5").random()
            True
        """
        return Rng(self.seed, self.kind, str(qid))

    def shift_with(self, query: str, rng: Rng) -> ShiftResult:
        """Apply the shift with a given RNG and finalize (used by :class:`~irrobust.shifts.Mixed`).

        Example:
            >>> from irrobust.shifts import DropWords
            >>> DropWords().shift_with("cells", Rng(0)).changed
            False
        """
        variant, reason = self.apply(query, rng)
        return finalize(query, variant, reason)

    def shift_query(self, query: str, qid: object = "") -> ShiftResult:
        """Shift one query string as it would be shifted in a table under ``qid``.

        Raises:
            IrrobustError: the query is empty.

        Example:
            >>> from irrobust.shifts import Keywordize
            >>> Keywordize().shift_query("the of", "q1")
            ShiftResult(query='the of', changed=False, fallback='only stop words')
        """
        if not isinstance(query, str) or not query.strip():
            raise IrrobustError(f"cannot shift an empty query {query!r}", where=f"qid {qid}")
        return self.shift_with(query, self.rng_for(qid))

    def transform(self, table: pd.DataFrame) -> pd.DataFrame:
        """One variant per query; see the module docstring for the columns.

        Example:
            >>> from irrobust.shifts import Keywordize
            >>> Keywordize()(["How do cells feed?"])[["qid", "query", "changed"]].values.tolist()
            [['1', 'cells feed', True]]
        """
        check_columns(table, ("qid", "query"), repr(self))
        results = [self.shift_query(q, qid) for qid, q in zip(table["qid"], table["query"], strict=True)]
        out = table.copy()
        out["query"] = [r.query for r in results]
        changed = pd.Series([r.changed for r in results], index=out.index, dtype=bool)
        fallback = pd.Series([r.fallback for r in results], index=out.index, dtype=object)
        if "variant_of" not in out.columns:
            out["variant_of"] = out["qid"]
        prev_shift = out["shift"] if "shift" in out.columns else pd.Series("", index=out.index)
        prev_shift = prev_shift.fillna("").astype(str)
        out["shift"] = [f"{p}+{self.name}" if p else self.name for p in prev_shift]
        if "changed" in out.columns:
            changed = changed | out["changed"].fillna(False).astype(bool)
            fallback = fallback.where(~changed, "")
        out["changed"] = changed
        out["fallback"] = fallback
        cols = [c for c in out.columns if c not in SHIFT_COLUMNS] + list(SHIFT_COLUMNS)
        out = out[cols].reset_index(drop=True)
        self.last_stats = ShiftStats(self.name, len(out), int(changed.sum()))
        return out

    def n_changed(self) -> int:
        """How many queries the last :meth:`transform` changed.

        Raises:
            IrrobustError: the shift has not been applied yet.

        Example:
            >>> from irrobust.shifts import Keywordize
            >>> k = Keywordize(); _ = k(["the cells", "cells"]); k.n_changed()
            1
        """
        if self.last_stats is None:
            raise IrrobustError(f"shift {self.name!r} has not been applied to a queries table yet")
        return self.last_stats.n_changed


def change_summary(variants: pd.DataFrame) -> pd.DataFrame:
    """Per shift: number of queries, how many changed, and the fallback reasons of the rest.

    Example:
        >>> import pandas as pd
        >>> from irrobust.shifts import Keywordize
        >>> change_summary(Keywordize()(["the cells", "cells"])).values.tolist()
        [['keywordize', 2, 1, 'no stop words: 1']]
    """
    check_columns(variants, ("shift", "changed", "fallback"), "change_summary")
    rows = []
    for shift, group in variants.groupby("shift", sort=True):
        reasons = group.loc[~group["changed"].astype(bool), "fallback"].value_counts()
        text = "; ".join(f"{r}: {n}" for r, n in sorted(reasons.items()))
        rows.append((shift, len(group), int(group["changed"].astype(bool).sum()), text))
    return pd.DataFrame(rows, columns=["shift", "queries", "changed", "unchanged_reasons"])
