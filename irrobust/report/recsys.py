"""Markdown section and plot for the noisy-implicit-feedback experiment (recommender robustness).

Reads only the long results table produced by :func:`irrobust.recsys.experiment.run_recsys`
(``task="recsys-noise"`` per-user rows and ``task="recsys-noise-stats"`` diagnostics).

Statistics (for every non-standard system against ``<backbone>/standard`` of the same dataset
and rho, per measure), both from :func:`irrobust.evaluate.significance.paired_test`:

* **per user**: two-sided Wilcoxon signed-rank test over users of the per-user value averaged
  over seeds (users are the same across seeds; their splits differ);
* **over seeds**: two-sided paired t-test over the seeds' mean values (needs >= 2 seeds; with few
  seeds it has little power; NaN with fewer);
* each family (one test type × one measure × one dataset: all systems × rho) is corrected with
  **Holm**'s step-down method; marks use adjusted p < 0.05.

Example:
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from irrobust.evaluate import significance

__all__ = [
    "gradient_factor_section",
    "holm",
    "load_run_table",
    "protocol_section",
    "recsys_section",
    "validation_curve_section",
    "significance_table",
    "summary_table",
]

TASK = "recsys-noise"
STATS_TASK = "recsys-noise-stats"
EPOCH_TASK = "recsys-noise-epoch"
ALPHA = 0.05
_MEASURE_ORDER = ["Recall@20", "NDCG@20", "Recall@50", "NDCG@50"]


def holm(pvalues: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values; NaNs are left out of the family and stay NaN.

    Delegates to :func:`irrobust.evaluate.significance.holm` for the non-missing values.

    Example:
        >>> holm([0.2, float("nan"), 0.01])
        [0.2, nan, 0.02]
    """
    idx = [i for i, p in enumerate(pvalues) if not (p is None or math.isnan(p))]
    out = [float("nan")] * len(pvalues)
    for i, adj in zip(idx, significance.holm([pvalues[i] for i in idx]), strict=True):
        out[i] = adj
    return out


def _rho(cond: str) -> float:
    return float(cond.split("=", 1)[1]) if "=" in cond else float("nan")


def _split_system(system: str) -> tuple[str, str]:
    b, _, m = system.partition("/")
    return b, m


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Seed-level means: one row per dataset, system, condition, measure, seed (mean over users).

    Example:
        >>> t = pd.DataFrame({"dataset": "d", "system": "MF/standard", "task": TASK, "condition": "rho=0",
        ...                   "qid": ["1", "2"], "measure": "Recall@20", "value": [0.2, 0.4], "seed": 1})
        >>> summary_table(t).value.tolist()
        [0.30000000000000004]
    """
    t = table[table.task == TASK]
    return t.groupby(["dataset", "system", "condition", "measure", "seed"], as_index=False)["value"].mean()


def significance_table(table: pd.DataFrame, baseline: str = "standard") -> pd.DataFrame:
    """Paired tests of every system against ``<backbone>/<baseline>`` (same dataset, rho, measure), Holm-adjusted.

    ``baseline`` is a method label: ``"standard"`` (default) or ``"Origin"`` (the PLD authors' baseline).
    Columns: dataset, system, condition, measure, delta (mean over seeds of the difference of means),
    n_users, p_wilcoxon, p_wilcoxon_holm, n_seeds, p_ttest, p_ttest_holm.

    Example:
        >>> rows = []
        >>> for s, off in (("MF/standard", 0.0), ("MF/PLD", 0.1)):
        ...     rows += [("d", s, TASK, "rho=0.2", str(u), "Recall@20", u / 40 + off, 1) for u in range(40)]
        >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value", "seed"])
        >>> r = significance_table(t).iloc[0]
        >>> r.system, round(float(r.delta), 3), bool(r.p_wilcoxon < 1e-6)
        ('MF/PLD', 0.1, True)
    """
    t = table[table.task == TASK]
    seed_means = summary_table(table)
    rows = []
    for (ds, cond, measure), grp in t.groupby(["dataset", "condition", "measure"]):
        per_user = grp.groupby(["system", "qid"])["value"].mean().unstack("qid")
        sm = seed_means[(seed_means.dataset == ds) & (seed_means.condition == cond) & (seed_means.measure == measure)]
        sm = sm.pivot(index="system", columns="seed", values="value")
        for system in per_user.index:
            backbone, method = _split_system(system)
            base = f"{backbone}/{baseline}"
            if method == baseline or base not in per_user.index:
                continue
            a, b = per_user.loc[system], per_user.loc[base]
            ok = a.notna() & b.notna()
            p_w = significance.paired_test(a[ok].to_numpy(), b[ok].to_numpy(), "wilcoxon")[1]
            sa, sb = sm.loc[system], sm.loc[base]
            ok_s = sa.notna() & sb.notna()
            ds_ = (sa[ok_s] - sb[ok_s]).to_numpy()
            p_t = significance.paired_test(sa[ok_s].to_numpy(), sb[ok_s].to_numpy(), "t")[1] if len(ds_) >= 2 \
                else float("nan")  # fmt: skip
            rows.append(
                dict(
                    dataset=ds,
                    system=system,
                    condition=cond,
                    measure=measure,
                    delta=float(np.mean(ds_)) if len(ds_) else float("nan"),
                    n_users=int(ok.sum()),
                    p_wilcoxon=p_w,
                    n_seeds=int(ok_s.sum()),
                    p_ttest=p_t,
                )
            )
    res = pd.DataFrame(
        rows,
        columns=["dataset", "system", "condition", "measure", "delta", "n_users", "p_wilcoxon", "n_seeds", "p_ttest"],
    )
    res["p_wilcoxon_holm"] = np.nan
    res["p_ttest_holm"] = np.nan
    for _, idx in res.groupby(["dataset", "measure"]).groups.items():
        res.loc[idx, "p_wilcoxon_holm"] = holm(res.loc[idx, "p_wilcoxon"].tolist())
        res.loc[idx, "p_ttest_holm"] = holm(res.loc[idx, "p_ttest"].tolist())
    return res


def _plot(seed_means: pd.DataFrame, dataset: str, measure: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sm = seed_means[(seed_means.dataset == dataset) & (seed_means.measure == measure)].copy()
    sm["rho"] = sm.condition.map(_rho)
    sm["backbone"] = sm.system.map(lambda s: _split_system(s)[0])
    sm["method"] = sm.system.map(lambda s: _split_system(s)[1])
    backbones = sorted(sm.backbone.unique())
    fig, axes = plt.subplots(1, len(backbones), figsize=(5.2 * len(backbones), 4), squeeze=False)
    for ax, bb in zip(axes[0], backbones, strict=True):
        sub = sm[sm.backbone == bb]
        for method, g in sub.groupby("method"):
            agg = g.groupby("rho")["value"].agg(["mean", "std"]).reset_index().sort_values("rho")
            ax.errorbar(agg["rho"], agg["mean"], yerr=agg["std"].fillna(0), marker="o", capsize=3, label=method)
        ax.set_title(f"{dataset}: {bb}")
        ax.set_xlabel("noise ratio ρ")
        ax.set_ylabel(f"test {measure}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def _fmt(x: float, nd: int = 4) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _fmt_p(p: float) -> str:
    if p is None or math.isnan(p):
        return "—"
    return "<1e-300" if p == 0 else f"{p:.3g}"


def recsys_section(table: pd.DataFrame, out_dir: Path) -> str:
    """Markdown section: results per method × backbone × rho, significance, noise retention, plot.

    Writes ``recsys_<dataset>_recall20.png`` into ``out_dir`` and embeds it by relative path.

    Example:
        >>> md = recsys_section(table, run_dir / "report")  # doctest: +SKIP
    """
    from irrobust.report.markdown import md_escape  # the dataset label is user-supplied

    out_dir = Path(out_dir)
    t = table[table.task == TASK]
    if t.empty:
        return "## Recommender robustness under noisy implicit feedback\n\nNo recsys results.\n"
    seed_means = summary_table(table)
    sig = significance_table(table)
    stats_rows = table[table.task == STATS_TASK]
    lines = ["## Recommender robustness under noisy implicit feedback (PLD protocol)", ""]
    lines += [
        "Protocol (Zhang et al., WWW 2025, PLD): users with ≥10 interactions, per-user random 70/10/20 split, "
        "⌊ρ·|train_u|⌋ random non-interacted items injected into each user's training set only. Full ranking over "
        "all items with training (and, for test, validation) items masked; model selected on validation Recall@20 "
        "(T-CE: on validation loss, as published). "
        "Cells: mean ± std over seeds of the per-user mean (mean only with one seed).",
        "",
        f"Significance against `<backbone>/standard` at the same ρ: ▲/▼ = better/worse by a two-sided **Wilcoxon "
        f"signed-rank test over users** (per-user values averaged over seeds), † = two-sided **paired t-test over "
        f"seeds**; both **Holm**-corrected per dataset and measure (family = all systems × ρ), α = {ALPHA}.",
        "",
    ]
    measures = [m for m in _MEASURE_ORDER if m in set(t.measure)] + sorted(set(t.measure) - set(_MEASURE_ORDER))
    for ds in sorted(t.dataset.unique()):
        dsm = seed_means[seed_means.dataset == ds]
        conds = sorted(dsm.condition.unique(), key=_rho)
        n_seeds = dsm.seed.nunique()
        n_users = t[t.dataset == ds].qid.nunique()
        lines += [f"### {md_escape(ds)} ({n_users} test users, {n_seeds} seed(s))", ""]
        for measure in measures:
            mm = dsm[dsm.measure == measure]
            if mm.empty:
                continue
            systems = sorted(
                mm.system.unique(), key=lambda s: (_split_system(s)[0], _split_system(s)[1] != "standard", s)
            )
            lines += [f"**{measure}**", "", "| system | " + " | ".join(conds) + " |", "|---|" + "---|" * len(conds)]
            for system in systems:
                cells = []
                for cond in conds:
                    v = mm[(mm.system == system) & (mm.condition == cond)].value
                    if v.empty:
                        cells.append("")
                        continue
                    cell = f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v.mean():.4f}"
                    s = sig[
                        (sig.dataset == ds)
                        & (sig.system == system)
                        & (sig.condition == cond)
                        & (sig.measure == measure)
                    ]
                    if not s.empty:
                        r = s.iloc[0]
                        if r.p_wilcoxon_holm < ALPHA:
                            cell += " ▲" if r.delta > 0 else " ▼"
                        if r.p_ttest_holm < ALPHA:
                            cell += " †"
                    cells.append(cell)
                lines.append(f"| {system} | " + " | ".join(cells) + " |")
            lines.append("")
        # detail for the headline measure
        head = measures[0]
        det = sig[(sig.dataset == ds) & (sig.measure == head)].copy()
        if not det.empty:
            det["rho"] = det.condition.map(_rho)
            lines += [
                f"Paired comparisons on {head} (Δ = system − standard, mean over seeds; Holm-adjusted p):",
                "",
                "| system | ρ | Δ | Wilcoxon p (users) | t-test p (seeds) |",
                "|---|---|---|---|---|",
            ]
            for _, r in det.sort_values(["system", "rho"]).iterrows():
                lines.append(
                    f"| {r.system} | {r.rho:g} | {r.delta:+.4f} | {_fmt_p(r.p_wilcoxon_holm)} (n={r.n_users}) | "
                    f"{_fmt_p(r.p_ttest_holm)} (n={r.n_seeds}) |"
                )
            lines.append("")
        # PLD (and every other system) against the authors' Origin baseline, when it was run
        sig_o = significance_table(table[table.dataset == ds], baseline="Origin")
        det_o = sig_o[sig_o.measure == head].copy()
        if not det_o.empty:
            det_o["rho"] = det_o.condition.map(_rho)
            lines += [
                f"Paired comparisons on {head} against the authors' baseline Origin (Δ = system − Origin; Holm over "
                "this table's family):",
                "",
                "| system | ρ | Δ | Wilcoxon p (users) | t-test p (seeds) |",
                "|---|---|---|---|---|",
            ]
            for _, r in det_o.sort_values(["system", "rho"]).iterrows():
                lines.append(
                    f"| {r.system} | {r.rho:g} | {r.delta:+.4f} | {_fmt_p(r.p_wilcoxon_holm)} (n={r.n_users}) | "
                    f"{_fmt_p(r.p_ttest_holm)} (n={r.n_seeds}) |"
                )
            lines.append("")
        gf = gradient_factor_section(table[table.dataset == ds])
        if gf:
            lines += [gf, ""]
        # noise retention
        st = stats_rows[stats_rows.dataset == ds]
        if not st.empty and (st.condition.map(_rho) > 0).any():
            piv = st.groupby(["system", "condition", "measure"])["value"].mean().unstack("measure")
            lines += [
                "Noise retention (mean over seeds; ρ > 0). *data*: share of injected interactions in train; *used*: "
                "share of the gradient weight on injected positives (standard: sampled positives; T-CE: kept "
                "positives after the drop-rate ramp; R-CE: weight mass; PLD: sampled positives after warm-up); "
                "*pool*: noise share of PLD's candidate pools; T-CE drop rates of noisy vs clean positives; R-CE mean "
                "weight of noisy vs clean positives.",
                "",
                "| system | ρ | data | used | used/data | pool | T-CE drop noisy / clean | R-CE weight noisy / clean | "
                "best epoch | s/epoch |",
                "|---|---|---|---|---|---|---|---|---|---|",
            ]
            for (system, cond), r in piv.iterrows():
                rho = _rho(cond)
                if not rho > 0:
                    continue
                g = r.get
                ratio = (
                    g("noise_share_used", np.nan) / g("noise_share_data", np.nan)
                    if g("noise_share_data", 0)
                    else np.nan
                )
                drop = (
                    f"{_fmt(g('noise_drop_rate', np.nan), 3)} / {_fmt(g('clean_drop_rate', np.nan), 3)}"
                    if not math.isnan(g("noise_drop_rate", np.nan))
                    else ""
                )
                wt = (
                    f"{_fmt(g('weight_noise', np.nan), 3)} / {_fmt(g('weight_clean', np.nan), 3)}"
                    if not math.isnan(g("weight_noise", np.nan))
                    else ""
                )
                pool = _fmt(g("noise_share_pool", np.nan), 3) if not math.isnan(g("noise_share_pool", np.nan)) else ""
                lines.append(
                    f"| {system} | {rho:g} | {_fmt(g('noise_share_data', np.nan), 3)} | "
                    f"{_fmt(g('noise_share_used', np.nan), 3)} | {_fmt(ratio, 2)} | {pool} | {drop} | {wt} | "
                    f"{_fmt(g('best_epoch', np.nan), 0)} | {_fmt(g('epoch_seconds', np.nan), 2)} |"
                )
            lines.append("")
        png = f"recsys_{''.join(c if c.isalnum() or c in '-_' else '-' for c in ds)}_recall20.png"
        plot_measure = "Recall@20" if "Recall@20" in measures else measures[0]
        _plot(seed_means, ds, plot_measure, out_dir / png)
        lines += [f"![{plot_measure} against ρ on {md_escape(ds)}]({png})", ""]
    return "\n".join(lines)


#: epochs shown in the per-epoch gradient-factor table (those that were run)
_GF_EPOCHS = (1, 5, 6, 10, 20, 30, 40, 60, 80, 100)


def gradient_factor_section(table: pd.DataFrame) -> str:
    """Markdown table of PLD's per-epoch diagnostic: mean BPR gradient factor ``σ(s_neg − s_pos)`` of the pair it
    trains on (*chosen*) vs the mean over its candidate pool (*uniform*, the expected factor of a uniform pick),
    mean over seeds, per backbone and ρ; from the ``recsys-noise-epoch`` rows. Empty string when there are none.

    Example:
        >>> rows = [("d", "MF/PLD", EPOCH_TASK, "rho=0.2", "6", m, v, 1)
        ...         for m, v in (("grad_factor_chosen", 0.03), ("grad_factor_uniform", 0.15))]
        >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value", "seed"])
        >>> "0.030 / 0.150" in gradient_factor_section(t)
        True
    """
    e = table[(table.task == EPOCH_TASK) & table.measure.isin(["grad_factor_chosen", "grad_factor_uniform"])]
    e = e[e.system.map(lambda s: _split_system(s)[1].startswith("PLD"))]
    if e.empty:
        return ""
    e = e.assign(epoch=e.qid.astype(int))
    piv = e.groupby(["system", "condition", "epoch", "measure"])["value"].mean().unstack("measure")
    epochs = [x for x in _GF_EPOCHS if x in set(e.epoch)]
    last = int(e.epoch.max())
    if last not in epochs:
        epochs.append(last)
    keys = sorted({(s, c) for s, c, _ in piv.index}, key=lambda k: (k[0], _rho(k[1])))
    lines = [
        "PLD's per-epoch diagnostic: mean BPR gradient factor σ(s_neg − s_pos) of the chosen pair / of a uniform pick "
        "from the same pool (mean over seeds; warm-up epochs pick uniformly, so both agree there):",
        "",
        "| system | ρ | " + " | ".join(f"ep {x}" for x in epochs) + " |",
        "|---|---|" + "---|" * len(epochs),
    ]
    for system, cond in keys:
        cells = []
        for x in epochs:
            try:
                r = piv.loc[(system, cond, x)]
                cells.append(f"{r['grad_factor_chosen']:.3f} / {r['grad_factor_uniform']:.3f}")
            except KeyError:
                cells.append("")
        lines.append(f"| {system} | {_rho(cond):g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def validation_curve_section(table: pd.DataFrame) -> str:
    """Markdown table of the model-selection score at every validated epoch (mean over seeds) per system and ρ,
    from the ``valid_score`` rows: shows whether a method was still improving when training stopped.

    Example:
        >>> rows = [("d", "MF/PLD", EPOCH_TASK, "rho=0.4", str(e), "valid_score", e / 1000, 1) for e in (20, 40)]
        >>> t = pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value", "seed"])
        >>> "| MF/PLD | 0.4 | 0.0200 | 0.0400 |" in validation_curve_section(t)
        True
    """
    e = table[(table.task == EPOCH_TASK) & (table.measure == "valid_score")]
    if e.empty:
        return ""
    e = e.assign(epoch=e.qid.astype(int))
    piv = e.groupby(["system", "condition", "epoch"])["value"].mean()
    epochs = sorted(set(e.epoch))
    if len(epochs) > 12:  # keep the table readable: about 10 evenly spaced validations and the last
        step = max(1, len(epochs) // 10)
        epochs = sorted(set(epochs[::step]) | {epochs[-1]})
    keys = sorted({(s, c) for s, c, _ in piv.index}, key=lambda k: (_split_system(k[0])[0], _rho(k[1]), k[0]))
    lines = [
        "Validation score (Recall@20; T-CE: −validation loss) by epoch, mean over seeds:",
        "",
        "| system | ρ | " + " | ".join(f"ep {x}" for x in epochs) + " |",
        "|---|---|" + "---|" * len(epochs),
    ]
    for system, cond in keys:
        cells = [f"{piv[(system, cond, x)]:.4f}" if (system, cond, x) in piv.index else "" for x in epochs]
        lines.append(f"| {system} | {_rho(cond):g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_run_table(run_dir: Path) -> pd.DataFrame:
    """The long results table of a recsys run directory, rebuilt from its finished units' checkpoints
    (``checkpoints/recsys/*.json``, kept by finished runs too) so that a grid still running can be reported;
    ``results.csv`` when there are no checkpoints.

    Example:
        >>> load_run_table(Path("runs/recsys_reference_ml100k")).system.unique()  # doctest: +SKIP
    """
    from irrobust.errors import DataError
    from irrobust.recsys.experiment import unit_rows_table

    run_dir = Path(run_dir)
    t = unit_rows_table(run_dir)  # both layouts: the unit store and the per-unit files of earlier runs
    if len(t):
        return t
    csv = run_dir / "results.csv"
    if csv.is_file():
        return pd.read_csv(csv, dtype={"qid": str})
    raise DataError("no recsys results (results.csv or unit checkpoints)", where=str(run_dir))


def protocol_section(tables: dict[str, pd.DataFrame], measure: str = "Recall@20") -> str:
    """The protocol × backbone × ρ × method table over several runs of one dataset.

    ``tables`` maps a protocol label (e.g. ``"reference"``, ``"irrobust"``) to its long results table. Per row:
    mean ± std over seeds (n seeds), and for every method against ``standard`` and against ``Origin`` of the same
    protocol/backbone/ρ: Δ (mean over seeds), a two-sided paired t-test over seeds and a two-sided Wilcoxon
    signed-rank test over users (per-user values averaged over seeds), Holm-adjusted within each protocol and
    baseline. ``*`` marks adjusted p < 0.05. Last column: the selected (best-validation) epoch of each seed.

    Example:
        >>> md = protocol_section({"reference": t_ref, "irrobust": t_irr})  # doctest: +SKIP
    """
    lines = [
        f"| protocol | backbone | ρ | method | {measure} mean ± std (seeds) | Δ vs standard: p seeds / p users | "
        "Δ vs Origin: p seeds / p users | best epochs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for proto, table in tables.items():
        t = table[(table.task == TASK) & (table.measure == measure)]
        if t.empty:
            continue
        best = table[(table.task == STATS_TASK) & (table.measure == "best_epoch")]
        sm = summary_table(t)
        sigs = {b: significance_table(t, baseline=b).set_index(["system", "condition"]) for b in ("standard", "Origin")}
        order = {"standard": 0, "Origin": 1}
        keys = sorted(
            {(s, c) for s, c in zip(sm.system, sm.condition, strict=True)},
            key=lambda k: (_split_system(k[0])[0], _rho(k[1]), order.get(_split_system(k[0])[1], 2), k[0]),
        )
        for system, cond in keys:
            backbone, method = _split_system(system)
            v = sm[(sm.system == system) & (sm.condition == cond)].value
            cell = f"{v.mean():.4f} ± {v.std(ddof=1):.4f} ({len(v)})" if len(v) > 1 else f"{v.mean():.4f} (1)"
            comps = []
            for b in ("standard", "Origin"):
                sg = sigs[b]
                if (system, cond) not in sg.index:
                    comps.append("")
                    continue
                r = sg.loc[(system, cond)]
                star = lambda p: "*" if p < ALPHA else ""  # noqa: E731
                comps.append(
                    f"{r.delta:+.4f}: {_fmt_p(r.p_ttest_holm)}{star(r.p_ttest_holm)} / "
                    f"{_fmt_p(r.p_wilcoxon_holm)}{star(r.p_wilcoxon_holm)}"
                )
            be = best[(best.system == system) & (best.condition == cond)].sort_values("seed").value
            epochs = ", ".join(str(int(x)) for x in be)
            lines.append(
                f"| {proto} | {backbone} | {_rho(cond):g} | {method} | {cell} | {comps[0]} | {comps[1]} | {epochs} |"
            )
    return "\n".join(lines)


def _main(argv: list[str] | None = None) -> int:
    """``python -m irrobust.report.recsys LABEL=RUN_DIR[@SUFFIX] ... [--measure M] [--gradient]``: print the
    protocol table (and PLD's per-epoch gradient factors)."""
    import argparse
    import sys

    from irrobust.errors import IrrobustError

    ap = argparse.ArgumentParser(prog="python -m irrobust.report.recsys", description=protocol_section.__doc__)
    ap.add_argument(
        "runs",
        nargs="+",
        help="LABEL=RUN_DIR[@SUFFIX] (one dataset; runs with the same LABEL are merged; SUFFIX is appended to their "
        "method names, e.g. reference=runs/recsys_reference_tau1_ml100k@tau=1)",
    )
    ap.add_argument("--measure", default="Recall@20")
    ap.add_argument("--gradient", action="store_true", help="also print PLD's per-epoch gradient-factor table")
    ap.add_argument("--curves", action="store_true", help="also print the validation score at every validated epoch")
    args = ap.parse_args(argv)
    try:
        tables: dict[str, pd.DataFrame] = {}
        for spec in args.runs:
            label, sep, path = spec.partition("=")
            if not sep:
                raise ValueError(f"expected LABEL=RUN_DIR[@SUFFIX], got {spec!r}")
            path, _, suffix = path.partition("@")
            t = load_run_table(Path(path))
            if suffix:  # e.g. @tau=1: "LightGCN/PLD" -> "LightGCN/PLD tau=1", to sit beside another run's PLD
                t = t.assign(system=t.system + f" {suffix}")
            tables[label] = pd.concat([tables[label], t], ignore_index=True) if label in tables else t
        print(protocol_section(tables, args.measure))
        if args.gradient:
            for label, t in tables.items():
                gf = gradient_factor_section(t)
                if gf:
                    print(f"\n{label}:\n\n{gf}")
        if args.curves:
            for label, t in tables.items():
                vc = validation_curve_section(t)
                if vc:
                    print(f"\n{label}:\n\n{vc}")
    except (IrrobustError, ValueError, OSError) as exc:
        print(f"irrobust: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
