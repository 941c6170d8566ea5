"""The comparative robustness report: effectiveness, tasks 1–3 of Wu et al. (TOIS 2022), and a scorecard.

Reads only the long results table (plus shift change counts); every number traces back to per-query rows.
Tasks (Wu, Zhang, Guo, Fan & Cheng, "Are Neural Ranking Models Robust?", TOIS 2022):

1. *Performance variance* on i.i.d. queries: standard deviation / variance of the per-query measure, mean of
   the worst 10% / 25% of queries, percentile-bootstrap CI of the mean. Winner: lowest standard deviation.
2. *Query shifts* (out of distribution): per shift, the paired drop of each system from its clean run.
   Winner: smallest mean relative drop over the shifts.
3. *Domain transfer*: learned systems trained on the source collection, evaluated on a target, against the
   same systems trained in-domain (BM25 and other untrained rankers are the reference: no drop).
   Winner: smallest mean relative drop.

Example:
    >>> scorecard_rows([])
    []
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from irrobust.evaluate.robustness import bootstrap_ci, per_query_std, per_query_variance, worst_fraction_mean
from irrobust.evaluate.significance import CORRECTION_NAMES
from irrobust.evaluate.table import compare_conditions
from irrobust.report.markdown import effectiveness_tables, markdown_table, md_escape, pvalue_table, report_header

NEURAL = {"dense", "cross-encoder", "interaction"}


def _plot(path, draw) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8), dpi=110)
    draw(ax)
    fig.tight_layout()
    from io import BytesIO

    from irrobust.util.io import atomic_write_bytes

    buf = BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def variance_stats(table: pd.DataFrame, measure: str, fractions: list[float], n_boot: int, alpha: float,
                   seed: int) -> pd.DataFrame:  # fmt: skip
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


def scorecard_rows(entries: list[tuple[str, str, pd.DataFrame, str, bool]]) -> list[dict[str, Any]]:
    """Winner per (task, dataset): ``entries`` are (task, dataset, frame with system/value, criterion, lower_is_better).

    Example:
        >>> scorecard_rows([("T1", "d", pd.DataFrame({"system": ["a", "b"], "value": [0.2, 0.1]}), "std", True)])[0]["winner"]
        'b'

    Systems sharing the best value tie, and no family wins:

        >>> scorecard_rows([("T5", "d", pd.DataFrame({"system": ["a", "b"], "value": [1.0, 1.0]}), "sr", True)])[0]["winner"]
        'tie (all systems)'
    """
    rows = []
    for task, ds, frame, criterion, lower in entries:
        if frame.empty:
            continue
        best = frame.sort_values("value", ascending=lower, kind="mergesort").iloc[0]
        tied = frame.loc[np.isclose(frame["value"].astype(float), float(best.value), rtol=0, atol=1e-12), "system"]
        if len(tied) == len(frame) and len(frame) > 1:
            winner = "tie (all systems)"
        elif len(tied) > 1:
            winner = "tie: " + " = ".join(map(str, tied))
        else:
            winner = best.system
        rows.append({"task": task, "dataset": ds, "winner": winner, "value": float(best.value),
                     "criterion": criterion})  # fmt: skip
    return rows


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


def robustness_report(cfg, table: pd.DataFrame, comp: pd.DataFrame, shift_stats: pd.DataFrame,
                      families: dict[str, str], timings: dict[str, float], rd) -> str:  # fmt: skip
    """The whole markdown report of a retrieval run (plots written under ``plots/`` of the run directory).

    Example:
        >>> robustness_report  # doctest: +ELLIPSIS
        <function robustness_report at ...>
    """
    sig = cfg.significance
    measure = cfg.robustness_measure or cfg.measures[0]
    out = [report_header(cfg.name, cfg.description)]
    eff = table[table.task == "effectiveness"]
    out.append(
        "## Effectiveness\n\n" + effectiveness_tables(eff, comp, cfg.baseline, sig.test, sig.correction, sig.alpha)
    )
    fam_rows = [[name, fam] for name, fam in families.items()]
    out.append("Systems and their families:\n\n" + markdown_table(["system", "family"], fam_rows) + "\n")
    card: list[tuple[str, str, pd.DataFrame, str, bool]] = []

    if cfg.tasks.variance is not None:
        v = cfg.tasks.variance
        stats = variance_stats(table, measure, v.worst_fractions, v.bootstrap, v.alpha, cfg.seed)
        parts = [f"## Task 1 — performance variance on i.i.d. queries ({measure})\n",
                 f"Per-query spread on the test queries. CI: {round((1 - v.alpha) * 100)}% percentile bootstrap of the "
                 f"mean ({v.bootstrap} resamples, seed {cfg.seed}). Lower standard deviation = more robust.\n"]  # fmt: skip
        for ds, grp in stats.groupby("dataset", sort=False):
            worst_cols = [c for c in grp.columns if c.startswith("worst ")]
            rows = [[r["system"], families.get(r["system"], ""), f"{r['mean']:.4f}", f"{r['std']:.4f}",
                     f"{r['variance']:.4f}"] + [f"{r[c]:.4f}" for c in worst_cols]
                    + [f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}]"] for _, r in grp.iterrows()]  # fmt: skip
            parts.append(f"### {md_escape(ds)}\n\n" + markdown_table(["system", "family", "mean", "std", "variance", *worst_cols,
                                                           "CI of mean"], rows))  # fmt: skip
            plot = f"plots/variance-{_slug(ds)}.png"
            data = eff[(eff.dataset == ds) & (eff.measure == measure)]
            systems = list(dict.fromkeys(data.system))

            def draw(ax, data=data, systems=systems, ds=ds):
                ax.boxplot([data[data.system == s].value.to_numpy() for s in systems], showmeans=True)
                ax.set_xticks(range(1, len(systems) + 1), [_plain(s) for s in systems], rotation=20)
                ax.set_ylabel(f"per-query {measure}")
                ax.set_title(_plain(f"{ds}: per-query spread"))

            _plot(rd.file(plot), draw)
            parts.append(f"![per-query spread on {md_escape(ds)}]({plot})")
            card.append(("T1 variance", ds, grp.rename(columns={"std": "value"})[["system", "value"]],
                         f"lowest std of {measure}", True))  # fmt: skip
        out.append("\n\n".join(parts) + "\n")

    if cfg.tasks.shifts is not None:
        cc = compare_conditions(table, "query-shift", "clean", sig.test, sig.correction, sig.alpha)
        cc = cc[cc.measure == measure] if not cc.empty else cc
        if cc.empty:
            cc = pd.DataFrame(columns=["dataset"])
        parts = [f"## Task 2 — query shifts (out of distribution, {measure})\n",
                 f"Each cell: mean under the shift and its relative change from the same system's clean run (negative: a "
                 f"drop; the plot and the scorecard use the drop, positive when the shift hurts); ▼ / ▲ = "
                 f"significantly lower / higher ({cc.test.iloc[0] if len(cc) else sig.test} on paired per-query "
                 f"values, {CORRECTION_NAMES[sig.correction]} correction over all systems × shifts per dataset, α = {sig.alpha}). "
                 "Every query is evaluated; the last row says how many the shift actually changed.\n"]  # fmt: skip
        for ds, grp in cc.groupby("dataset", sort=False):
            shifts = list(dict.fromkeys(grp.condition))
            systems = list(dict.fromkeys(grp.system))
            rows = []
            for s in systems:
                cells = [s]
                for c in shifts:
                    r = grp[(grp.system == s) & (grp.condition == c)].iloc[0]
                    mark = (" ▼" if r.delta < 0 else " ▲") if r.significant else ""
                    cells.append(f"{r['mean']:.4f} ({-r.relative_drop * 100:+.1f}%){mark}")
                rows.append(cells)
            st = shift_stats[shift_stats.dataset == ds].set_index("condition") if len(shift_stats) else None
            if st is not None:
                rows.append(["queries changed"] + [f"{int(st.loc[c, 'changed'])}/{int(st.loc[c, 'queries'])}"
                                                   for c in shifts])  # fmt: skip
            parts.append(f"### {md_escape(ds)}\n\n" + markdown_table(["system", *shifts], rows))
            plot = f"plots/shifts-{_slug(ds)}.png"

            def draw(ax, grp=grp, shifts=shifts, systems=systems, ds=ds):
                width = 0.8 / max(1, len(systems))
                x = np.arange(len(shifts))
                for i, s in enumerate(systems):
                    vals = [float(grp[(grp.system == s) & (grp.condition == c)].relative_drop.iloc[0]) * 100
                            for c in shifts]  # fmt: skip
                    ax.bar(x + i * width, vals, width, label=_plain(s))
                ax.set_xticks(x + width * (len(systems) - 1) / 2, [_plain(c) for c in shifts], rotation=15)
                ax.set_ylabel(f"relative drop of {measure} (%)")
                ax.axhline(0, color="black", linewidth=0.6)
                ax.legend(fontsize=7)
                ax.set_title(_plain(f"{ds}: drop per shift"))

            _plot(rd.file(plot), draw)
            parts.append(f"![drop per shift on {md_escape(ds)}]({plot})")
            mean_drop = grp.groupby("system", sort=False).relative_drop.mean().rename("value").reset_index()
            card.append(("T2 query shifts", ds, mean_drop, f"smallest mean relative drop of {measure}", True))
        out.append("\n\n".join(parts) + "\n")

    if cfg.tasks.transfer is not None:
        cc = compare_conditions(table, "domain-transfer", "clean", sig.test, sig.correction, sig.alpha)
        cc = cc[cc.measure == measure] if not cc.empty else cc
        parts = [f"## Task 3 — domain transfer ({measure})\n",
                 "Learned parts trained on the source collection and applied to the target, against the same system "
                 "trained in-domain where the target has training data (untrained rankers such as BM25 are the "
                 "reference: identical in both columns). Relative drop: positive when the transferred system is worse. "
                 "▼ / ▲ = significantly lower / higher than in-domain; a negative drop means the in-domain model is "
                 "the weaker one.\n"]  # fmt: skip
        if cc.empty:
            targets = ", ".join(map(md_escape, cfg.tasks.transfer.targets))
            parts.append(f"None of the targets ({targets}) has training data, so no in-domain model exists; the "
                         "effectiveness tables above show the transferred systems against BM25 on each target.")  # fmt: skip
            out.append("\n\n".join(parts) + "\n")
        rows = [] if cc.empty else [[r.dataset, r.condition, r.system, families.get(r.system, ""), f"{r.reference_mean:.4f}",
                 f"{r['mean']:.4f}", f"{r.relative_drop * 100:+.1f}%" + ((" ▼" if r.delta < 0 else " ▲") if r.significant else "")]
                for _, r in cc.iterrows()]  # fmt: skip
        if rows:
            parts.append(markdown_table(["target", "condition", "system", "family", "in-domain", "transferred",
                                         "relative drop"], rows))  # fmt: skip
            for target, grp in cc.groupby("dataset", sort=False):
                mean_drop = grp.groupby("system", sort=False).relative_drop.mean().rename("value").reset_index()
                card.append(("T3 domain transfer", target, mean_drop, f"smallest relative drop of {measure}", True))
            out.append("\n\n".join(parts) + "\n")

    from irrobust.report.attacks import attack_sections  # tasks 4-5

    attack_parts, attack_card = attack_sections(table, families)
    out.extend(attack_parts)
    card.extend(attack_card)
    from irrobust.report.certify import certify_sections  # CertDR certification

    certificates = rd.file("certify/certificates.csv") if rd is not None else None
    details = pd.read_csv(certificates, dtype={"qid": str}) if certificates is not None and certificates.exists() \
        else None  # fmt: skip
    certify_parts, certify_card = certify_sections(table, families, details)
    out.extend(certify_parts)
    card.extend(certify_card)
    weak = weaker_than_baseline(comp, measure)
    card = [(task, ds, frame[~frame.system.isin(weak.get(ds, []))], crit, lower)
            for task, ds, frame, crit, lower in card]  # fmt: skip
    rows = scorecard_rows(card)
    if rows:
        lines = [[r["task"], r["dataset"], r["winner"], families.get(r["winner"], ""), f"{r['value']:.4f}",
                  r["criterion"]] for r in rows]  # fmt: skip
        neural = [r for r in rows if families.get(r["winner"]) in NEURAL]
        has_neural = any(f in NEURAL for f in families.values())
        ties = sum(r["winner"].startswith("tie") for r in rows)
        tie_note = f" ({ties} tied, won by no family)" if ties else ""
        verdict = (f"Neural rankers win {len(neural)} of {len(rows)} task × dataset comparisons{tie_note}."
                   if has_neural else "This run has no neural ranker, so it cannot answer whether neural rankers "
                   "are more robust; it compares the lexical and learned systems it has.")  # fmt: skip
        excluded = "; ".join(f"{md_escape(ds)}: {', '.join(map(md_escape, names))}" for ds, names in weak.items())
        eligibility = (f" Not eligible to win (significantly worse than the baseline on clean {measure}): "
                       f"{excluded}." if excluded else "")  # fmt: skip
        out.append("## Scorecard — are neural rankers robust?\n\n"
                   + markdown_table(["task", "dataset", "winner", "family", "value", "criterion"], lines)
                   + f"\n\n{verdict}{eligibility}\n")  # fmt: skip
    out.append("## All comparisons with the baseline\n\n" + pvalue_table(comp) + "\n")
    timing_rows = [[k, f"{v:.1f}"] for k, v in timings.items()]
    out.append("## Timings (seconds)\n\n" + markdown_table(["step", "seconds"], timing_rows) + "\n")
    return "\n".join(out)


def _plain(text: str) -> str:
    """A user-supplied label as literal plot text (a ``$`` would start matplotlib math mode, which can fail to parse).

    Example:
        >>> print(_plain("a$x^$b"))
        a\\$x^\\$b
    """
    return str(text).replace("$", r"\$")


def _slug(name: str) -> str:
    from irrobust.util.names import slug

    return slug(name)
