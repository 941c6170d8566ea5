"""Markdown section, Holm correction and the plot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from irrobust.report.recsys import gradient_factor_section, holm, protocol_section, recsys_section, significance_table


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


def _three_methods(seeds=(1, 2, 3)) -> pd.DataFrame:
    """MF/standard, MF/Origin (+0.03 over standard) and MF/PLD (+0.03 over Origin) on 200 users, rho = 0.4."""
    rng = np.random.default_rng(1)
    rows = []
    for seed in seeds:
        base = rng.uniform(0, 0.5, 200)
        for system, add in (("MF/standard", 0.0), ("MF/Origin", 0.03), ("MF/PLD", 0.06)):
            for u in range(200):
                v = float(np.clip(base[u] + add + rng.normal(0, 0.01), 0, 1))
                rows.append(("d", system, "recsys-noise", "rho=0.4", str(u), "Recall@20", v, seed))
    return pd.DataFrame(rows, columns=["dataset", "system", "task", "condition", "qid", "measure", "value", "seed"])


def test_significance_against_origin_baseline():
    t = _three_methods()
    vs_o = significance_table(t, baseline="Origin").set_index("system")
    assert set(vs_o.index) == {"MF/PLD", "MF/standard"}  # Origin is the baseline, not a row
    assert vs_o.loc["MF/PLD", "delta"] == pytest.approx(0.03, abs=0.005)
    assert vs_o.loc["MF/standard", "delta"] == pytest.approx(-0.03, abs=0.005)
    assert vs_o.loc["MF/PLD", "p_ttest"] < 0.01 and vs_o.loc["MF/PLD", "n_seeds"] == 3
    vs_s = significance_table(t).set_index("system")
    assert vs_s.loc["MF/PLD", "delta"] == pytest.approx(0.06, abs=0.005)


def test_protocol_section_rows_and_marks():
    t = _three_methods()
    md = protocol_section({"reference": t, "irrobust": t[t.seed == 1]})
    lines = md.splitlines()
    pld_ref = next(line for line in lines if line.startswith("| reference | MF | 0.4 | PLD |"))
    assert "(3)" in pld_ref and pld_ref.count("*") == 4  # significant over seeds and users, vs both baselines
    pld_irr = next(line for line in lines if line.startswith("| irrobust | MF | 0.4 | PLD |"))
    assert "(1)" in pld_irr and "— / " in pld_irr  # one seed: no t-test over seeds
    assert [line.split("|")[4].strip() for line in lines[2:5]] == ["standard", "Origin", "PLD"]


def test_load_run_table_from_unit_checkpoints(tmp_path):
    import json

    from irrobust.report.recsys import load_run_table

    ck = tmp_path / "checkpoints" / "recsys"
    ck.mkdir(parents=True)
    rec = {
        "users": ["7", "9"],
        "metrics": {"Recall@20": [0.5, 0.25]},
        "stats": {"best_epoch": 60.0},
        "epoch_stats": [{"epoch": 6, "n": 10, "n_noise": 2, "grad_factor_chosen": 0.1, "grad_factor_uniform": 0.2}],
    }
    (ck / "ml-100k__LightGCN__pld__r0400__s2025.json").write_text(json.dumps(rec))
    t = load_run_table(tmp_path)
    main = t[t.task == "recsys-noise"]
    assert set(main.system) == {"LightGCN/PLD"} and set(main.condition) == {"rho=0.4"} and set(main.seed) == {2025}
    assert main.set_index("qid").value.to_dict() == {"7": 0.5, "9": 0.25}
    ep = t[t.task == "recsys-noise-epoch"].set_index("measure").value
    assert ep["grad_factor_uniform"] == 0.2 and ep["noise_share_sampled"] == 0.2
    assert "0.100 / 0.200" in gradient_factor_section(t)


def test_cli_merges_runs_and_suffixes_methods(tmp_path, capsys):
    import json

    from irrobust.report.recsys import _main

    def unit(run: str, method: str, seed: int, values: list[float]) -> None:
        ck = tmp_path / run / "checkpoints" / "recsys"
        ck.mkdir(parents=True, exist_ok=True)
        rec = {"users": ["1", "2", "3"], "metrics": {"Recall@20": values}, "stats": {}, "epoch_stats": []}
        (ck / f"d__MF__{method}__r0400__s{seed}.json").write_text(json.dumps(rec))

    for seed in (1, 2):
        unit("ref", "standard", seed, [0.1, 0.2, 0.3])
        unit("ref", "pld", seed, [0.2, 0.3, 0.4])
        unit("tau1", "pld", seed, [0.15, 0.25, 0.35])
    assert _main([f"reference={tmp_path / 'ref'}", f"reference={tmp_path / 'tau1'}@tau=1"]) == 0
    out = capsys.readouterr().out
    assert "| reference | MF | 0.4 | PLD | 0.3000" in out
    assert "| reference | MF | 0.4 | PLD tau=1 | 0.2500" in out and "+0.0500" in out
    assert _main(["no-equals-sign"]) == 2
    assert _main([f"x={tmp_path / 'missing'}"]) == 2
