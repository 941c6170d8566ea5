"""Markdown section, Holm correction and the plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from irrobust.recsys.report import holm, recsys_section, significance_table


def test_holm_matches_definition():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def _synthetic_table(effect: float, seeds=(1, 2, 3)) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for rho in (0.0, 0.2):
            base = rng.uniform(0, 0.5, 200)
            for system, add in (("MF/standard", 0.0), ("MF/PLD", effect * (rho > 0))):
                for u in range(200):
                    v = float(np.clip(base[u] + add + rng.normal(0, 0.01), 0, 1))
                    rows.append(("d", system, "recsys-noise", f"rho={rho:g}", str(u), "Recall@20", v, seed))
            rows.append(("d", "MF/PLD", "recsys-noise-stats", f"rho={rho:g}", "all", "noise_share_data", 0.16, seed))
            rows.append(("d", "MF/PLD", "recsys-noise-stats", f"rho={rho:g}", "all", "noise_share_used", 0.09, seed))
    return pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value", "seed"])


def test_significance_detects_real_effect_only():
    sig = significance_table(_synthetic_table(0.05)).set_index("condition")
    assert sig.loc["rho=0.2", "p_wilcoxon_holm"] < 1e-6 and sig.loc["rho=0.2", "delta"] > 0.04
    assert sig.loc["rho=0", "p_wilcoxon_holm"] > 0.01


def test_section_and_plot(tmp_path):
    md = recsys_section(_synthetic_table(0.05), tmp_path)
    assert "Wilcoxon" in md and "Holm" in md and "paired t-test" in md
    assert "| MF/PLD |" in md and "▲" in md
    assert "![Recall@20 against ρ on d](recsys_d_recall20.png)" in md
    png = tmp_path / "recsys_d_recall20.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "0.090" in md  # noise retention row
