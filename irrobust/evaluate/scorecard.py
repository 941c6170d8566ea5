"""Which system is most robust, per task and dataset: the scorecard and the summary a report opens with.

A :class:`ScorecardEntry` holds one comparison — a task on a dataset — as each system's criterion value (the
robustness statistic of that task: the per-query standard deviation for task 1, the mean relative drop for tasks 2
and 3, the mean attack success rate for tasks 4 and 5, the mean CRQ@K for certification) together with the
per-query values the statistic is computed from. :func:`scorecard_rows` names the winner of each entry;
:func:`summary_lines` adds how much better the winner is than the runner-up, with a paired percentile bootstrap
confidence interval over queries (the unit of significance), and the sample sizes.

Example:
    >>> import pandas as pd
    >>> samples = {"a": pd.DataFrame({"value": [0.1, 0.9, 0.2, 0.8]}, index=list("wxyz")),
    ...            "b": pd.DataFrame({"value": [0.5, 0.5, 0.4, 0.6]}, index=list("wxyz"))}
    >>> entry = ScorecardEntry.from_samples("T1 variance", "d", samples, "std", "lowest std of nDCG@10", True)
    >>> line = summary_lines([entry], {"a": "lexical", "b": "dense"}, n_boot=500)[0]
    >>> line.winner, line.runner_up, line.queries
    ('b', 'a', 4)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

#: how a system's criterion value is computed from its per-query table (rows = queries)
Statistic = Literal["std", "relative_drop", "mean"]


def statistic(kind: Statistic, frame: pd.DataFrame) -> float:
    """The criterion value of one system from its per-query table.

    * ``std``: sample standard deviation (ddof 1) of the single column;
    * ``relative_drop``: mean over the condition columns of ``(mean(reference) − mean(condition)) / mean(reference)``
      (0 when the reference mean is 0), the ``reference`` column holding the clean (or in-domain) values;
    * ``mean``: mean of all non-missing cells (e.g. per-query attack success over attacks, CRQ@K over K).

    Example:
        >>> f = pd.DataFrame({"reference": [0.5, 0.7], "typos": [0.3, 0.5], "drop": [0.6, 0.6]})
        >>> round(statistic("relative_drop", f), 4)
        0.1667
        >>> statistic("mean", pd.DataFrame({"a": [1.0, float("nan")], "b": [0.0, 0.5]}))
        0.5
    """
    return float(_statistic(kind, frame.to_numpy(dtype=float)[None, :, :], list(frame.columns))[0])


def _statistic(kind: Statistic, values: np.ndarray, columns: list[str]) -> np.ndarray:
    """Vectorised :func:`statistic` over resamples: ``values`` has shape (resamples, queries, columns)."""
    if kind == "std":
        return np.std(values[:, :, 0], axis=1, ddof=1)
    if kind == "relative_drop":
        means = values.mean(axis=1)  # (resamples, columns)
        ref_col = columns.index("reference")
        ref = means[:, ref_col]
        others = [i for i in range(len(columns)) if i != ref_col]
        safe = np.where(ref == 0, 1.0, ref)
        drops = np.where(ref[:, None] == 0, 0.0, (ref[:, None] - means[:, others]) / safe[:, None])
        return drops.mean(axis=1)
    if kind == "mean":
        flat = values.reshape(values.shape[0], -1)
        count = (~np.isnan(flat)).sum(axis=1)
        return np.nansum(flat, axis=1) / np.maximum(count, 1)
    raise ValueError(f"unknown statistic {kind!r}")


@dataclass
class ScorecardEntry:
    """One robustness comparison: each system's criterion value on one task and dataset.

    ``values`` has columns ``system, value`` (the scorecard's numbers); ``samples`` maps a system to its per-query
    table (index qid), from which ``statistic`` recomputes the value on resampled queries; ``targets`` and
    ``certified`` are per-system sample sizes of the attack and certification tasks.

    Example:
        >>> e = ScorecardEntry("T5 term spamming", "d", pd.DataFrame({"system": ["a"], "value": [0.4]}),
        ...                    "lowest mean attack success rate", True)
        >>> e.eligible([]).values.system.tolist()
        ['a']
    """

    task: str
    dataset: str
    values: pd.DataFrame
    criterion: str
    lower_is_better: bool
    statistic: Statistic = "mean"
    samples: dict[str, pd.DataFrame] = field(default_factory=dict)
    targets: dict[str, int] = field(default_factory=dict)
    certified: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_samples(cls, task: str, dataset: str, samples: Mapping[str, pd.DataFrame], kind: Statistic,
                     criterion: str, lower_is_better: bool, **sizes: dict[str, int]) -> ScorecardEntry:  # fmt: skip
        """An entry whose values are :func:`statistic` of each system's per-query table.

        Example:
            >>> s = {"a": pd.DataFrame({"value": [0.0, 1.0]}), "b": pd.DataFrame({"value": [0.5, 0.5]})}
            >>> ScorecardEntry.from_samples("T1", "d", s, "std", "lowest std", True).values.value.round(3).tolist()
            [0.707, 0.0]
        """
        values = pd.DataFrame({"system": list(samples), "value": [statistic(kind, f) for f in samples.values()]})
        return cls(task, dataset, values, criterion, lower_is_better, kind, dict(samples), **sizes)

    def eligible(self, excluded: Sequence[str]) -> ScorecardEntry:
        """The entry without the ``excluded`` systems (e.g. those significantly worse than the baseline).

        Example:
            >>> e = ScorecardEntry("T", "d", pd.DataFrame({"system": ["a", "b"], "value": [1.0, 2.0]}), "c", True)
            >>> e.eligible(["a"]).values.system.tolist()
            ['b']
        """
        keep = ~self.values["system"].isin(list(excluded))
        return ScorecardEntry(self.task, self.dataset, self.values[keep], self.criterion, self.lower_is_better,
                              self.statistic, {k: v for k, v in self.samples.items() if k not in excluded},
                              self.targets, self.certified)  # fmt: skip

    def ranking(self) -> pd.DataFrame:
        """The systems best first (stable for ties: the configuration's order).

        Example:
            >>> e = ScorecardEntry("T", "d", pd.DataFrame({"system": ["a", "b"], "value": [1.0, 2.0]}), "c", False)
            >>> e.ranking().system.tolist()
            ['b', 'a']
        """
        return self.values.sort_values("value", ascending=self.lower_is_better, kind="mergesort")


def scorecard_rows(entries: Sequence[ScorecardEntry]) -> list[dict[str, object]]:
    """Winner per entry: ``{task, dataset, winner, value, criterion}``; empty entries are skipped.

    Example:
        >>> e = ScorecardEntry("T1", "d", pd.DataFrame({"system": ["a", "b"], "value": [0.2, 0.1]}), "std", True)
        >>> scorecard_rows([e])[0]["winner"]
        'b'

    Systems sharing the best value tie, and no family wins:

        >>> e = ScorecardEntry("T5", "d", pd.DataFrame({"system": ["a", "b"], "value": [1.0, 1.0]}), "sr", True)
        >>> scorecard_rows([e])[0]["winner"]
        'tie (all systems)'
    """
    rows = []
    for e in entries:
        frame = e.values
        if frame.empty:
            continue
        best = e.ranking().iloc[0]
        tied = _tied(frame, float(best.value))
        if len(tied) == len(frame) and len(frame) > 1:
            winner = "tie (all systems)"
        elif len(tied) > 1:
            winner = "tie: " + " = ".join(map(str, tied))
        else:
            winner = best.system
        rows.append({"task": e.task, "dataset": e.dataset, "winner": winner, "value": float(best.value),
                     "criterion": e.criterion})  # fmt: skip
    return rows


def _tied(frame: pd.DataFrame, best: float) -> list[str]:
    return list(frame.loc[np.isclose(frame["value"].astype(float), best, rtol=0, atol=1e-12), "system"])


def weaker_than_baseline(comp: pd.DataFrame, measure: str) -> dict[str, list[str]]:
    """Per dataset, the systems significantly worse than the baseline on clean ``measure`` (not eligible to win a
    robustness comparison: a uniformly weak ranker has a small spread and little to lose under a shift).

    Example:
        >>> comp = pd.DataFrame({"dataset": ["d", "d"], "task": "effectiveness", "condition": "clean",
        ...                      "measure": "nDCG@10", "system": ["a", "b"], "delta": [-0.2, 0.1],
        ...                      "significant": [True, True]})
        >>> weaker_than_baseline(comp, "nDCG@10")
        {'d': ['a']}
    """
    if comp.empty or "significant" not in comp:
        return {}
    sel = comp[(comp.task == "effectiveness") & (comp.condition == "clean") & (comp.measure == measure)
               & comp.significant.astype(bool) & (comp.delta < 0)]  # fmt: skip
    return {str(ds): list(dict.fromkeys(grp.system)) for ds, grp in sel.groupby("dataset", sort=False)}


@dataclass(frozen=True)
class SummaryLine:
    """The summary of one task on one dataset: the most robust system and its lead over the runner-up.

    ``margin`` is how much better the winner's criterion is than the runner-up's on the queries both have
    (positive = winner better, in the criterion's unit); ``ci_low``/``ci_high`` its paired percentile bootstrap
    interval at level ``1 − alpha`` over those ``queries``; ``significant`` when the interval excludes 0.
    ``winner`` is ``tie: a = b`` when systems share the best value, and ``runner_up`` is ``None`` when only one
    system was compared.

    Example:
        >>> SummaryLine("T1", "d", "a", "lexical", "lowest std", 0.1, None, None, None, None, None, False, 5, 0.05,
        ...             ("a",)).compared
        1
    """

    task: str
    dataset: str
    winner: str
    family: str
    criterion: str
    value: float
    runner_up: str | None
    runner_up_value: float | None
    margin: float | None
    ci_low: float | None
    ci_high: float | None
    significant: bool
    queries: int
    alpha: float
    systems: tuple[str, ...]
    targets: int | None = None
    certified: int | None = None
    excluded: tuple[str, ...] = ()

    @property
    def compared(self) -> int:
        """The number of systems compared."""
        return len(self.systems)


def paired_bootstrap(kind: Statistic, winner: pd.DataFrame, other: pd.DataFrame, lower_is_better: bool,
                     n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float, int]:  # fmt: skip
    """Margin of ``winner`` over ``other`` (positive = winner better) and its paired bootstrap CI over queries.

    Both per-query tables are restricted to the queries they share; each resample draws those queries with
    replacement (the same draw for both systems) and recomputes both criterion values. Returns
    ``(margin, low, high, queries)``; the interval is NaN with fewer than two shared queries.

    Example:
        >>> a = pd.DataFrame({"value": [0.1, 0.2, 0.3, 0.4, 0.5]}); b = a + 0.2
        >>> m, lo, hi, n = paired_bootstrap("mean", a, b, lower_is_better=True, n_boot=200)
        >>> round(m, 3), round(lo, 3), round(hi, 3), n
        (0.2, 0.2, 0.2, 5)
    """
    common = [q for q in winner.index if q in set(other.index)]
    a = winner.loc[common].to_numpy(dtype=float)
    b = other.loc[common].reindex(columns=winner.columns).to_numpy(dtype=float)
    cols = list(winner.columns)
    sign = 1.0 if lower_is_better else -1.0
    n = len(common)
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    margin = float(sign * (_statistic(kind, b[None], cols) - _statistic(kind, a[None], cols))[0])
    if n < 2:
        return margin, float("nan"), float("nan"), n
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    chunk = max(1, 200_000 // max(1, n * a.shape[1]))
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        diffs[start : start + len(idx)] = sign * (_statistic(kind, b[idx], cols) - _statistic(kind, a[idx], cols))
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return margin, float(low), float(high), n


def summary_lines(entries: Sequence[ScorecardEntry], families: Mapping[str, str], excluded: Mapping[str, list[str]]
                  | None = None, n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> list[SummaryLine]:  # fmt: skip
    """One :class:`SummaryLine` per non-empty entry, among the eligible systems (``excluded`` per dataset).

    Example:
        >>> s = {"a": pd.DataFrame({"value": [0.0, 1.0, 0.0, 1.0]}), "b": pd.DataFrame({"value": [.5, .5, .4, .6]})}
        >>> e = ScorecardEntry.from_samples("T1", "d", s, "std", "lowest std", True)
        >>> line = summary_lines([e], {}, n_boot=300)[0]
        >>> line.winner, round(line.margin, 3), line.queries
        ('b', 0.496, 4)
    """
    out = []
    for entry in entries:
        dropped = tuple(s for s in (excluded or {}).get(entry.dataset, []) if s in set(entry.values.system))
        e = entry.eligible(dropped)
        if e.values.empty:
            continue
        ranked = e.ranking()
        best = ranked.iloc[0]
        tied = _tied(e.values, float(best.value))
        systems = tuple(map(str, e.values.system))
        winner = str(best.system) if len(tied) == 1 else "tie: " + " = ".join(map(str, tied))
        runner = ranked.iloc[1] if len(ranked) > 1 else None
        margin = low = high = None
        queries = len(e.samples[str(best.system)]) if str(best.system) in e.samples else 0
        if runner is not None and str(best.system) in e.samples and str(runner.system) in e.samples:
            margin, low, high, queries = paired_bootstrap(e.statistic, e.samples[str(best.system)],
                                                          e.samples[str(runner.system)], e.lower_is_better,
                                                          n_boot=n_boot, alpha=alpha, seed=seed)  # fmt: skip
        significant = bool(len(tied) == 1 and low is not None and not np.isnan(low) and low > 0)
        out.append(SummaryLine(
            task=e.task, dataset=e.dataset, winner=winner, family=families.get(str(best.system), "") if len(tied) == 1
            else "", criterion=e.criterion, value=float(best.value),
            runner_up=None if runner is None else str(runner.system),
            runner_up_value=None if runner is None else float(runner.value), margin=margin, ci_low=low,
            ci_high=high, significant=significant, queries=int(queries), alpha=alpha, systems=systems,
            targets=e.targets.get(str(best.system)), certified=e.certified.get(str(best.system)), excluded=dropped,
        ))  # fmt: skip
    return out


__all__ = ["ScorecardEntry", "Statistic", "SummaryLine", "paired_bootstrap", "scorecard_rows", "statistic",
           "summary_lines", "weaker_than_baseline"]  # fmt: skip
