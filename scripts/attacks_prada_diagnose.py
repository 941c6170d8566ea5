"""Why PRADA does (or does not) beat random substitution: diagnostics on a finished ``attacks_prada_compare`` run.

For each attacked system of the run, on the first ``--queries`` attacked lists and their PRADA targets:

1. **Surrogate–target agreement**: Spearman's rho and Kendall's tau between the surrogate's and the target's scores
   of each attacked list (the surrogate is the run's checkpoint, the lists the run's ``lists-*.json``), and the
   overlap of their top-10.
2. On the first ``--max-targets`` PRADA targets (each costs one target call per eligible word and neighbour),
   **word importance vs the target**: every eligible word of a target document is substituted alone (first
   occurrence) by each of its table neighbours and the target's score change recorded (the *oracle* gain of the
   word = its best neighbour's gain). Reported: Spearman between PRADA's importance and the oracle gain, and how
   many of the oracle's top-10 words are in PRADA's top 10, TF-IDF's top 10 and a random 10 (expected value).
   For a differentiable target (cross-encoder) also Spearman between PRADA's importance and the target's own
   gradient norm per word.
3. **Candidate quality**: on PRADA's 10 important words, the mean oracle gain of PRADA's chosen neighbour, of the
   nearest neighbour (TF-IDF's choice) and of a uniformly random neighbour (the mean over neighbours), the share of
   positive gains, and how often PRADA picks the best neighbour (vs the share of best neighbours, by chance; words
   whose neighbours all give the same score are left out of this one).

    IRROBUST_THREADS=1 taskset -c 1 .venv/bin/python scripts/attacks_prada_diagnose.py \\
        --pipeline pipelines/attacks_prada_compare.yaml --run runs/prada-compare --queries 8

Example:
    >>> main(["--pipeline", "pipelines/attacks_prada_compare.yaml", "--run", "runs/x"])   # doctest: +SKIP
    0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np


def _oracle(inp: Any, target: Any, swap: Any, positions: list[int]) -> dict[str, dict[str, float]]:
    """Per eligible word (lower-cased, first occurrence): target score change of each neighbour substituted alone."""
    from irrobust.attacks.transformation import WordDoc

    doc = WordDoc(inp.text)
    first: dict[str, int] = {}
    for i in positions:
        first.setdefault(doc.words[i].lower(), i)
    texts, keys = [], []
    for w, i in first.items():
        for c in swap.candidates(w):
            texts.append(doc.render({i: c}))
            keys.append((w, c))
    scores = target.score(inp.query, texts) if texts else np.zeros(0)
    out: dict[str, dict[str, float]] = {}
    for (w, c), s in zip(keys, scores, strict=True):
        out.setdefault(w, {})[c] = float(s) - inp.clean_score
    return out


def _gradient_words(wb: Any, inp: Any, eligible: set[str]) -> dict[str, float]:
    """Largest L2 norm of the target's ∂score/∂embedding over each eligible word's pieces (white-box targets)."""
    from irrobust.attacks.prada import token_words
    from irrobust.attacks.transformation import WordDoc

    doc = WordDoc(inp.text)
    _, grad = wb.score_grad(inp.query, inp.text)
    _, offsets = wb.doc_tokens(inp.text, inp.query)
    norms = grad.norm(dim=1).tolist()
    out: dict[str, float] = {}
    for n, wi in zip(norms, token_words(doc, offsets), strict=True):
        if wi >= 0 and doc.words[wi].lower() in eligible:
            w = doc.words[wi].lower()
            out[w] = max(out.get(w, 0.0), n)
    return out


def _spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def main(argv: list[str] | None = None) -> int:
    """Print the diagnostics (and write them as JSON with ``--json``); works on a partial run (finished checkpoints).

    Example:
        >>> main(["--run", "runs/x"])   # doctest: +SKIP
        0
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pipeline", default="pipelines/attacks_prada_compare.yaml")
    ap.add_argument("--run", required=True, help="run directory of the pipeline")
    ap.add_argument("--queries", type=int, default=30, help="first N attacked lists per system (agreement)")
    ap.add_argument("--max-targets", type=int, default=4, help="PRADA targets per system examined word by word")
    ap.add_argument("--systems", nargs="*", default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="write the per-system summary here")
    args = ap.parse_args(argv)

    import pandas as pd
    import torch
    from scipy.stats import kendalltau

    torch.set_num_threads(args.threads)
    import irrobust as ir
    from irrobust.attacks.constraints import eligible_positions
    from irrobust.attacks.goal import AttackInput, CachedTarget
    from irrobust.attacks.recipe import AttackContext, make_attack
    from irrobust.attacks.surrogate import load_surrogate
    from irrobust.attacks.transformation import SynonymSwap, WordDoc
    from irrobust.attacks.victims import attack_target, last_stage
    from irrobust.data.synonyms import load_counterfitted
    from irrobust.pipeline.attack_task import _whitebox, attacked_systems
    from irrobust.pipeline.config import load_pipeline
    from irrobust.pipeline.registry import StageContext
    from irrobust.pipeline.systems import build_system
    from irrobust.util.names import slug

    cfg = load_pipeline(args.pipeline)
    run = Path(args.run)
    ds = ir.dataset(cfg.datasets[0])
    index = ir.lucene_index(ds.collection, progress=False)
    swap = SynonymSwap(load_counterfitted())
    items = {i.label or i.attack: i for i in cfg.tasks.attacks.items}
    prada = make_attack("prada", **items["prada"].params)
    tfidf = make_attack("tfidf", **items["tfidf"].params)
    ctx_base = StageContext(ds, seed=cfg.seed, progress=False)
    built: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for spec in cfg.systems:
        built[spec.name] = build_system(spec, ctx_base, built)
    for name in args.systems or attacked_systems(cfg):
        sys_dir = run / "attacks" / slug(ds.id) / slug(name)
        lists = json.loads(next(sys_dir.glob("lists-*.json")).read_text())[: args.queries]
        sur = load_surrogate(next(sys_dir.glob("surrogate-*.safetensors")).read_bytes())
        stage = last_stage(built[name])
        target = CachedTarget(attack_target(stage, threads=args.threads))
        wb = _whitebox(stage)
        ctx = AttackContext(swap, index=index, surrogate=sur)
        rho, tau, top10 = [], [], []
        rows: list[dict[str, Any]] = []
        for lst in lists:
            texts = ds.docs.texts(lst["docnos"])
            t_scores = np.asarray(lst["scores"])
            s_scores = sur.score(lst["query"], texts)
            rho.append(_spearman(list(s_scores), list(t_scores)))
            tau.append(float(kendalltau(s_scores, t_scores).statistic))
            top10.append(len(set(np.argsort(-s_scores)[:10]) & set(range(10))) / 10)
            done = [d for d in lst["docnos"]  # PRADA targets with a finished checkpoint (a run may be partial)
                    if (sys_dir / "prada" / f"{slug(lst['qid'])}__{slug(d)}.json").is_file()]  # fmt: skip
            for docno in done[: max(0, args.max_targets - len(rows))]:
                i = lst["docnos"].index(docno)
                inp = AttackInput(lst["qid"], lst["query"], docno, texts[i], lst["docnos"], texts, t_scores, i,
                                  cfg.seed)  # fmt: skip
                doc = WordDoc(inp.text)
                positions = eligible_positions(doc, inp.query, prada.constraints(), swap, ctx.stopwords)
                imp, _ = prada.importance(inp, ctx)
                plan = prada.plan(inp, ctx)
                chosen = {doc.words[i].lower(): c for i, c in plan}
                oracle = _oracle(inp, target, swap, positions)
                words = sorted(oracle)
                best = {w: max(oracle[w].values()) for w in words}
                order_p = sorted(imp, key=lambda w: (-imp[w], w))[:10]
                tf = {w: sum(1 for k in positions if doc.words[k].lower() == w) for w in words}
                idf = tfidf.idf(words, inp, ctx)
                order_t = sorted(words, key=lambda w: (-tf[w] * idf[w], w))[:10]
                top_oracle = set(sorted(words, key=lambda w: (-best[w], w))[:10])
                rec = {"qid": lst["qid"], "docno": docno, "words": len(words),
                       "imp_vs_oracle": _spearman([imp.get(w, 0.0) for w in words], [best[w] for w in words]),
                       "top10_prada": len(top_oracle & set(order_p)), "top10_tfidf": len(top_oracle & set(order_t)),
                       "top10_random": 10 * min(10, len(words)) / max(1, len(words))}  # fmt: skip
                if wb is not None:
                    g = _gradient_words(wb, inp, set(words))
                    common = [w for w in words if w in g]
                    rec["imp_vs_target_gradient"] = _spearman([imp.get(w, 0.0) for w in common], [g[w] for w in common])
                gains_p, gains_n, gains_r, pos_p, pos_n, pos_r, picks_best, chance = [], [], [], [], [], [], [], []
                for w in order_p:
                    if w not in oracle or w not in chosen:
                        continue
                    cands = oracle[w]
                    gains_p.append(cands[chosen[w]])
                    gains_n.append(cands[swap.candidates(w)[0]])
                    gains_r.append(float(np.mean(list(cands.values()))))
                    pos_p.append(cands[chosen[w]] > 0)
                    pos_n.append(cands[swap.candidates(w)[0]] > 0)
                    pos_r.append(float(np.mean([v > 0 for v in cands.values()])))
                    if len(set(cands.values())) > 1:  # the best neighbour is defined (not all gains tied)
                        picks_best.append(cands[chosen[w]] == max(cands.values()))
                        chance.append(sum(v == max(cands.values()) for v in cands.values()) / len(cands))
                rec.update({"gain_prada": float(np.mean(gains_p)), "gain_nearest": float(np.mean(gains_n)),
                            "gain_random": float(np.mean(gains_r)), "positive_prada": float(np.mean(pos_p)),
                            "positive_nearest": float(np.mean(pos_n)), "positive_random": float(np.mean(pos_r)),
                            "picks_best": float(np.mean(picks_best)) if picks_best else float("nan"),
                            "picks_best_chance": float(np.mean(chance)) if chance else float("nan")})  # fmt: skip
                rows.append(rec)
                print(json.dumps({"system": name, **rec}), flush=True)
        frame = pd.DataFrame(rows, columns=["qid", "docno"] if not rows else None)
        summary[name] = {"lists": len(lists), "targets": len(frame),
                         "surrogate_target_spearman": float(np.nanmean(rho)),
                         "surrogate_target_kendall": float(np.nanmean(tau)),
                         "surrogate_top10_overlap": float(np.mean(top10)),
                         **{c: float(frame[c].mean()) for c in frame.columns if c not in ("qid", "docno")}}  # fmt: skip
    print(json.dumps(summary, indent=1))
    if args.json:
        from irrobust.util.io import atomic_write_json

        atomic_write_json(Path(args.json), summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
