"""The results of a retrieval run, computed once, in memory: what every report renders.

:func:`build_results` turns the long per-query table (``results.csv``), the comparisons with the baseline
(``significance.csv``) and the per-unit rows of the attack and certification tasks into one :class:`RunResults`:
effectiveness comparisons, task 1 variance statistics, task 2 and task 3 condition tests, attack and certificate
tables, the seen / unseen (memorisation) split, the scorecard, and the summary a report opens with (per task, the
most robust system, its lead over the runner-up with a bootstrap confidence interval, and the sample sizes).
:mod:`irrobust.report` only renders this object (markdown, HTML, JSON); it computes nothing.

Example:
    >>> import pandas as pd
    >>> from irrobust.evaluate.table import long_rows
    >>> t = pd.concat([long_rows(pd.DataFrame({"qid": list("abcd"), "measure": "nDCG@10", "value": v}), "d", s)
    ...                for s, v in [("bm25", [.2, .4, .6, .8]), ("ql", [.5, .5, .5, .6])]])
    >>> r = build_results("demo", "", t, baseline="bm25", measure="nDCG@10", families={"bm25": "lexical",
    ...                   "ql": "lexical"}, variance=VarianceSettings(bootstrap=200))
    >>> r.summary[0].task, r.summary[0].winner, r.summary[0].queries
    ('T1 variance', 'ql', 4)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from irrobust.data.overlap import SeenSplit
from irrobust.evaluate.attacks import AttackTaskResult, attack_results
from irrobust.evaluate.certify import CertifyResult, certify_results
from irrobust.evaluate.memorization import seen_unseen_comparison
from irrobust.evaluate.robustness import bootstrap_ci, per_query_std, per_query_variance, worst_fraction_mean
from irrobust.evaluate.scorecard import (
    ScorecardEntry,
    SummaryLine,
    scorecard_rows,
    summary_lines,
    weaker_than_baseline,
)
from irrobust.evaluate.table import compare, compare_conditions, summarize

#: ranker families counted as neural in the scorecard's verdict
NEURAL = {"dense", "cross-encoder", "interaction"}


@dataclass(frozen=True)
class SignificanceSettings:
    """The paired test, multiple-testing correction and level of a run's comparisons.

    Example:
        >>> SignificanceSettings().test
        't'
    """

    test: str = "t"
    correction: str = "holm"
    alpha: float = 0.05


@dataclass(frozen=True)
class VarianceSettings:
    """Task 1 settings: worst-fraction means, bootstrap resamples and level of the CI of the mean.

    Example:
        >>> VarianceSettings().worst_fractions
        (0.1, 0.25)
    """

    worst_fractions: tuple[float, ...] = (0.1, 0.25)
    bootstrap: int = 10_000
    alpha: float = 0.05


@dataclass
class VarianceResult:
    """Task 1: per (dataset, system) mean, std, variance, worst-fraction means and bootstrap CI of the mean.

    Example:
        >>> VarianceResult("m", VarianceSettings(), 0, pd.DataFrame()).stats.empty
        True
    """

    measure: str
    settings: VarianceSettings
    seed: int
    stats: pd.DataFrame


@dataclass
class ConditionResult:
    """Task 2 (query shifts) or 3 (domain transfer): each system under each condition against its reference.

    ``comparisons`` has the columns of :func:`irrobust.evaluate.table.compare_conditions` for ``measure``;
    ``shift_stats`` (task 2) how many queries each shift changed; ``targets`` (task 3) the transfer targets.

    Example:
        >>> ConditionResult("query-shift", "nDCG@10", pd.DataFrame()).comparisons.empty
        True
    """

    task: str
    measure: str
    comparisons: pd.DataFrame
    shift_stats: pd.DataFrame = field(default_factory=pd.DataFrame)
    targets: list[str] = field(default_factory=list)


@dataclass
class MemorizationResult:
    """The seen / unseen split of learned rankers (:mod:`irrobust.evaluate.memorization`).

    Example:
        >>> MemorizationResult(pd.DataFrame(), {}, "nDCG@10").rows.empty
        True
    """

    rows: pd.DataFrame
    splits: dict[str, SeenSplit]
    measure: str


@dataclass
class Scorecard:
    """Winners per task and dataset among the eligible systems, with the neural-vs-other verdict.

    Example:
        >>> Scorecard([], {}, []).rows
        []
    """

    entries: list[ScorecardEntry]
    excluded: dict[str, list[str]]
    rows: list[dict[str, Any]]


@dataclass
class RunResults:
    """Everything a report of a retrieval run shows, computed once.

    Example:
        >>> r = RunResults("n", "", "bm25", "nDCG@10", SignificanceSettings(), 42, pd.DataFrame(), pd.DataFrame(), {})
        >>> r.summary, r.attacks
        ([], [])
    """

    name: str
    description: str
    baseline: str
    measure: str
    significance: SignificanceSettings
    seed: int
    table: pd.DataFrame
    comparisons: pd.DataFrame
    families: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    variance: VarianceResult | None = None
    shifts: ConditionResult | None = None
    transfer: ConditionResult | None = None
    attacks: list[AttackTaskResult] = field(default_factory=list)
    certify: list[CertifyResult] = field(default_factory=list)
    memorization: MemorizationResult | None = None
    scorecard: Scorecard = field(default_factory=lambda: Scorecard([], {}, []))
    summary: list[SummaryLine] = field(default_factory=list)
    means: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def has_neural(self) -> bool:
        """Whether any system belongs to a neural family."""
        return any(f in NEURAL for f in self.families.values())


def variance_stats(table: pd.DataFrame, measure: str, fractions: list[float] | tuple[float, ...], n_boot: int,
                   alpha: float, seed: int) -> pd.DataFrame:  # fmt: skip
    """Task 1 statistics per (dataset, system) from the clean per-query rows.

    Example:
        >>> from irrobust.evaluate.table import long_rows
        >>> t = long_rows(pd.DataFrame({"qid": list("abcd"), "measure": "m", "value": [0, .5, .5, 1]}), "d", "s")
        >>> variance_stats(t, "m", [0.25], 200, 0.05, 0)[["system", "mean", "worst 25%"]].values.tolist()
        [['s', 0.5, 0.0]]
    """
    clean = table[(table.task == "effectiveness") & (table.condition == "clean") & (table.measure == measure)]
    rows = []
    for (ds, system), grp in clean.groupby(["dataset", "system"], sort=False):
        v = grp["value"].to_numpy(dtype=float)
        ci = bootstrap_ci(v, n=n_boot, alpha=alpha, seed=seed)
        row = {"dataset": ds, "system": system, "mean": float(v.mean()), "std": per_query_std(v),
               "variance": per_query_variance(v)}  # fmt: skip
        for f in fractions:
            row[f"worst {round(f * 100)}%"] = worst_fraction_mean(v, f)
        row.update(ci_low=ci.low, ci_high=ci.high, n=len(v))
        rows.append(row)
    return pd.DataFrame(rows)


def _clean(table: pd.DataFrame, ds: str, system: str, measure: str) -> pd.Series:
    sel = table[(table.task == "effectiveness") & (table.condition == "clean") & (table.dataset == ds)
                & (table.system == system) & (table.measure == measure)]  # fmt: skip
    return sel.set_index("qid")["value"]


def _variance_entries(table: pd.DataFrame, stats: pd.DataFrame, measure: str) -> list[ScorecardEntry]:
    out = []
    for ds, grp in stats.groupby("dataset", sort=False):
        samples = {str(s): _clean(table, ds, s, measure).to_frame("value") for s in grp.system}
        out.append(ScorecardEntry("T1 variance", str(ds), grp.rename(columns={"std": "value"})[["system", "value"]],
                                  f"lowest std of {measure}", True, "std", samples))  # fmt: skip
    return out


def _condition_entries(table: pd.DataFrame, cc: pd.DataFrame, task: str, label: str, criterion: str) -> list[ScorecardEntry]:  # fmt: skip
    out = []
    for ds, grp in cc.groupby("dataset", sort=False):
        mean_drop = grp.groupby("system", sort=False).relative_drop.mean().rename("value").reset_index()
        measure = str(grp.measure.iloc[0])
        samples = {}
        for system, sg in grp.groupby("system", sort=False):
            cols = {"reference": _clean(table, ds, system, measure)}
            rows = table[(table.task == task) & (table.dataset == ds) & (table.system == system)
                         & (table.measure == measure)]  # fmt: skip
            for cond in dict.fromkeys(sg.condition):
                cols[cond] = rows[rows.condition == cond].set_index("qid")["value"]
            samples[str(system)] = pd.DataFrame(cols).dropna()
        out.append(ScorecardEntry(label, str(ds), mean_drop, criterion, True, "relative_drop", samples))
    return out


def build_results(name: str, description: str, table: pd.DataFrame, *, baseline: str, measure: str,
                  families: dict[str, str], comparisons: pd.DataFrame | None = None,
                  significance: SignificanceSettings | None = None, seed: int = 0,
                  timings: dict[str, float] | None = None, variance: VarianceSettings | None = None,
                  shifts: bool = False, shift_stats: pd.DataFrame | None = None,
                  transfer_targets: list[str] | None = None, attack_details: pd.DataFrame | None = None,
                  certify_details: pd.DataFrame | None = None, splits: dict[str, SeenSplit] | None = None,
                  summary_bootstrap: int = 2000) -> RunResults:  # fmt: skip
    """Compute every statistic a report shows from the long per-query ``table``.

    ``means`` are the table's means (:func:`irrobust.evaluate.table.summarize`); ``comparisons`` (each system
    against the baseline, :func:`irrobust.evaluate.table.compare`) is computed from
    the clean effectiveness rows when not given. Task 1 runs when ``variance`` is given, task 2 when ``shifts``,
    task 3 when ``transfer_targets``; tasks 4–5 and certification whenever the table has their rows
    (``attack_details`` / ``certify_details``: the per-target and per-certificate rows, for sample sizes and cost);
    the memorisation split for the datasets in ``splits``. The summary's confidence intervals use
    ``summary_bootstrap`` paired resamples of the queries at the run's α, seeded with ``seed``.

    Example:
        >>> from irrobust.evaluate.table import long_rows
        >>> t = long_rows(pd.DataFrame({"qid": ["1", "2"], "measure": "nDCG@10", "value": [.5, 1.]}), "d", "bm25")
        >>> build_results("n", "", t, baseline="bm25", measure="nDCG@10", families={}).summary
        []
    """
    sig = significance or SignificanceSettings()
    eff = table[table.task == "effectiveness"] if len(table) else table
    if comparisons is None:
        comparisons = compare(eff, baseline, sig.test, sig.correction, sig.alpha) if len(eff) else pd.DataFrame()
    res = RunResults(name, description, baseline, measure, sig, seed, table, comparisons, dict(families),
                     dict(timings or {}))  # fmt: skip
    res.means = summarize(table)  # per (dataset, system, task, condition, measure), table order
    entries: list[ScorecardEntry] = []
    if variance is not None:
        stats = variance_stats(table, measure, variance.worst_fractions, variance.bootstrap, variance.alpha, seed)
        res.variance = VarianceResult(measure, variance, seed, stats)
        entries += _variance_entries(table, stats, measure) if len(stats) else []
    if shifts:
        cc = compare_conditions(table, "query-shift", "clean", sig.test, sig.correction, sig.alpha)
        cc = cc[cc.measure == measure] if not cc.empty else cc
        if cc.empty:
            cc = pd.DataFrame(columns=["dataset"])
        res.shifts = ConditionResult("query-shift", measure, cc,
                                     shift_stats if shift_stats is not None else pd.DataFrame())  # fmt: skip
        entries += _condition_entries(table, cc, "query-shift", "T2 query shifts",
                                      f"smallest mean relative drop of {measure}") if len(cc) else []  # fmt: skip
    if transfer_targets is not None:
        cc = compare_conditions(table, "domain-transfer", "clean", sig.test, sig.correction, sig.alpha)
        cc = cc[cc.measure == measure] if not cc.empty else cc
        res.transfer = ConditionResult("domain-transfer", measure, cc, targets=list(transfer_targets))
        entries += _condition_entries(table, cc, "domain-transfer", "T3 domain transfer",
                                      f"smallest relative drop of {measure}") if len(cc) else []  # fmt: skip
    res.attacks = attack_results(table, attack_details, baseline)
    entries += [a.entry for a in res.attacks]
    res.certify = certify_results(table, certify_details)
    entries += [c.entry for c in res.certify if c.entry is not None]
    if splits:
        rows = seen_unseen_comparison(table, splits, baseline, measure, sig.test, sig.correction, sig.alpha)
        res.memorization = MemorizationResult(rows, dict(splits), measure)
    excluded = weaker_than_baseline(comparisons, measure)
    eligible = [e.eligible(excluded.get(e.dataset, [])) for e in entries]
    res.scorecard = Scorecard(entries, excluded, scorecard_rows(eligible))
    res.summary = summary_lines(entries, families, excluded, n_boot=summary_bootstrap, alpha=sig.alpha, seed=seed)
    return res


def results_summary_table(results: RunResults) -> pd.DataFrame:
    """The summary lines as a table (one row per task and dataset).

    Example:
        >>> results_summary_table(RunResults("n", "", "b", "m", SignificanceSettings(), 0, pd.DataFrame(),
        ...                                  pd.DataFrame(), {})).empty
        True
    """
    from dataclasses import asdict

    return pd.DataFrame([asdict(s) for s in results.summary])


__all__ = ["ConditionResult", "MemorizationResult", "RunResults", "Scorecard", "SignificanceSettings",
           "VarianceResult", "VarianceSettings", "build_results", "results_summary_table", "summarize",
           "variance_stats"]  # fmt: skip
