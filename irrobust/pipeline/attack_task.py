"""Robustness tasks 4–5 in a pipeline run: attack every system's ranked lists, checkpointed per target document.

For each attacked system (its last stage is the target, see :mod:`irrobust.attacks.victims`):

1. the system ranks a seeded sample of queries (``max_queries``); the top ``depth`` documents of each
   list are scored by the target (clean scores; the rank of an attacked document is its position among
   the *other* documents' clean scores);
2. PRADA's surrogate is trained once on those lists (pseudo relevance feedback; checkpointed);
3. every attack in ``items`` promotes the easy / hard target documents of every list. Each finished
   target document is written atomically to
   ``attacks/<dataset>/<system>/<attack>/<qid>__<docno>.json`` with a key of everything it depends on;
   a rerun reuses matching files, so a killed run resumes where it stopped and gives identical results.

Outputs: ``attacks/<dataset>/<system>/lists-<key>.json`` (each attacked list: qid, query, docnos in the target's
order, the target's clean scores) beside the surrogate's weights; long-table rows (``task`` = ``ranking-attack``
or ``term-spamming``, ``condition`` =
``<attack>/<set>``, one value per query = mean over that query's targets in the set) for the measures
:data:`MEASURES`; ``attacks.csv`` (one row per target document and set) and ``attacked_documents.csv``
(documents table: ``docno, text, perturbed_from, attack, edits``) in the run directory.

Example:
    >>> run_attack_task(cfg, ds, built, rd)   # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from irrobust.pipeline.lists import top_lists
from irrobust.util.io import atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_json

#: per-query measures of tasks 4–5 (means over the query's target documents)
MEASURES = ("success", "boosted_ranks", "top10", "top50", "perturbation", "similarity", "target_queries")


@functools.lru_cache(maxsize=20_000)
def _embed(text: str) -> bytes:
    from irrobust.index.dense import encode

    return encode([text], batch_size=1)[0].astype(np.float32).tobytes()


def minilm_cosine(a: str, b: str) -> float:
    """Cosine of the all-MiniLM-L6-v2 embeddings of two texts (each encoded alone, so results are reproducible).

    Example:
        >>> minilm_cosine("vitamin d", "vitamin d")   # doctest: +SKIP
        1.0
    """
    if a == b:
        return 1.0
    va, vb = np.frombuffer(_embed(a), dtype=np.float32), np.frombuffer(_embed(b), dtype=np.float32)
    return float(np.dot(va.astype(np.float64), vb.astype(np.float64)))


def attacked_systems(cfg: Any) -> list[str]:
    """The systems tasks 4–5 attack: ``tasks.attacks.systems`` or every non-fusion system.

    Example:
        >>> attacked_systems(cfg)   # doctest: +SKIP
        ['bm25', 'bm25>>knrm']
    """
    task = cfg.tasks.attacks
    if task.systems:
        return list(task.systems)
    return [s.name for s in cfg.systems if s.fuse is None]


def _ranked_lists(system: Any, target: Any, queries: pd.DataFrame, ds: Any, depth: int) -> list[dict[str, Any]]:
    out = []
    for item in top_lists(system, queries, ds, depth):
        scores = target.score(item["query"], item["texts"])
        order = np.argsort(-scores, kind="stable")  # the target's own order of the list (ties: system rank)
        out.append({"qid": item["qid"], "query": item["query"], "docnos": [item["docnos"][i] for i in order],
                    "texts": [item["texts"][i] for i in order], "scores": scores[order]})  # fmt: skip
    return out


def _surrogate(lists: list[dict[str, Any]], spec: Any, seed: int, threads: int, path: Any) -> Any:
    from irrobust.attacks.surrogate import load_surrogate, surrogate_state, train_surrogate

    if path.is_file():
        return load_surrogate(path.read_bytes())
    model = train_surrogate([(x["query"], x["texts"], x["scores"]) for x in lists], seed=seed, epochs=spec.epochs,
                            n_pos=spec.n_pos, neg_from=spec.neg_from, neg_per_pos=spec.neg_per_pos,
                            threads=threads)  # fmt: skip
    atomic_write_bytes(path, surrogate_state(model))
    return load_surrogate(path.read_bytes())  # the same weights a resumed run loads


def _whitebox(stage: Any) -> Any:
    from irrobust.attacks.victims import attack_white_box

    return attack_white_box(stage)


def run_attack_task(cfg: Any, ds: Any, built: dict[str, Any], rd: Any, progress: bool = True,
                    hook: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Run tasks 4–5 on one dataset; return ``{"table": long rows, "details": per-target rows, ...}``.

    ``hook(row)`` is called after each target document computed in this call (not for reused checkpoints).

    Example:
        >>> out = run_attack_task(cfg, ds, built, rd)   # doctest: +SKIP
        >>> sorted(out)                                  # doctest: +SKIP
        ['details', 'documents', 'skipped', 'table', 'timings']
    """
    import torch

    from irrobust.attacks.constraints import default_stopwords
    from irrobust.attacks.goal import AttackInput, CachedTarget
    from irrobust.attacks.recipe import AttackContext, make_attack
    from irrobust.attacks.targets import select_targets
    from irrobust.attacks.transformation import SynonymSwap
    from irrobust.attacks.victims import attack_target, last_stage
    from irrobust.data.synonyms import load_counterfitted
    from irrobust.evaluate.table import long_rows
    from irrobust.index.lucene import lucene_index
    from irrobust.rankers.training import select_queries
    from irrobust.util.names import slug

    task = cfg.tasks.attacks
    torch.set_num_threads(task.threads)
    queries = select_queries(ds.queries, task.max_queries, cfg.seed)
    swap = SynonymSwap(load_counterfitted())
    stopwords = default_stopwords()
    recipes = [(item.label or item.attack, make_attack(item.attack, **item.params)) for item in task.items]
    tg = task.targets
    index = lucene_index(ds.collection, progress=False)
    details: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    timings: dict[str, float] = {}
    for name in attacked_systems(cfg):
        t0 = time.perf_counter()
        system = built[name]
        stage = last_stage(system)
        target = CachedTarget(attack_target(stage, threads=task.threads), batch_size=task.target_batch)
        lists = _ranked_lists(system, target, queries, ds, tg.depth)
        sys_dir = f"attacks/{slug(ds.id)}/{slug(name)}"
        sys_key = sha256_json({"system": system.spec(), "dataset": ds.id, "docs": ds.docs_checksum, "seed": cfg.seed,
                               "depth": tg.depth, "queries": queries["qid"].astype(str).tolist()})  # fmt: skip
        lists_path = rd.file(f"{sys_dir}/lists-{sys_key[:16]}.json")
        if not lists_path.is_file():  # the attacked lists with the target's clean scores (for analyses of a run)
            atomic_write_json(lists_path, [{"qid": x["qid"], "query": x["query"], "docnos": x["docnos"],
                                            "scores": [float(v) for v in x["scores"]]} for x in lists])  # fmt: skip
        surrogate = None
        if any(r.needs_surrogate for _, r in recipes):
            sur_key = sha256_json({"system": sys_key, "surrogate": task.surrogate.model_dump(mode="json")})
            surrogate = _surrogate(lists, task.surrogate, cfg.seed, task.threads,
                                   rd.file(f"{sys_dir}/surrogate-{sur_key[:16]}.safetensors"))  # fmt: skip
        timings[f"{ds.id}/attacks/{name}/setup"] = round(time.perf_counter() - t0, 3)
        whitebox = _whitebox(stage) if any(r.needs_whitebox for _, r in recipes) else None
        ctx = AttackContext(swap, stopwords, minilm_cosine if task.similarity else None, task.batch_size, index,
                            whitebox, surrogate)  # fmt: skip
        active = []
        for label, recipe in recipes:
            if recipe.needs_whitebox and whitebox is None:
                skipped.append({"system": name, "attack": label, "reason": "target not differentiable"})
                continue
            active.append((label, recipe))
        spent = {label: 0.0 for label, _ in active}
        for lst in lists:  # query by query, every attack on its targets: an interrupted run holds paired results
            sel = select_targets(len(lst["docnos"]), lst["qid"], cfg.seed, tuple(map(tuple, tg.buckets)),
                                 tg.per_bucket, tg.hard, tuple(tg.sets), key=name)  # fmt: skip
            by_rank: dict[int, list[str]] = {}
            for set_name, ranks in sel.items():
                for r in ranks:
                    by_rank.setdefault(r, []).append(set_name)
            for label, recipe in active:
                t1 = time.perf_counter()
                for r in sorted(by_rank):
                    i = r - 1
                    docno = lst["docnos"][i]
                    inp = AttackInput(lst["qid"], lst["query"], docno, lst["texts"][i], lst["docnos"], lst["texts"],
                                      lst["scores"], i, cfg.seed)  # fmt: skip
                    key = sha256_json({"system": sys_key, "recipe": recipe.spec(), "qid": inp.qid, "docno": docno,
                                       "similarity": task.similarity, "batch": task.batch_size})  # fmt: skip
                    path = rd.file(f"{sys_dir}/{slug(label)}/{slug(inp.qid)}__{slug(docno)}.json")
                    rec = _load(path, key)
                    if rec is None:
                        t2 = time.perf_counter()
                        res = recipe.attack(inp, target, ctx)
                        sim = minilm_cosine(inp.text, res.attacked) if task.similarity else float("nan")
                        rec = {"key": key, "result": res.to_json(), "similarity": sim,
                               "seconds": round(time.perf_counter() - t2, 4)}  # fmt: skip
                        atomic_write_json(path, rec)
                        if hook is not None:
                            hook({"system": name, "attack": label, "qid": inp.qid, "docno": docno})
                    res_j = rec["result"]
                    rb, ra = int(res_j["rank_before"]), int(res_j["rank_after"])
                    for set_name in by_rank[r]:
                        details.append({"dataset": ds.id, "system": name, "attack": label, "recipe": recipe.name,
                                        "task": recipe.task, "set": set_name, "qid": inp.qid, "docno": docno,
                                        "rank_before": rb, "rank_after": ra, "score_before": res_j["score_before"],
                                        "score_after": res_j["score_after"], "edits": res_j["edits"],
                                        "n_words": res_j["n_words"],
                                        "perturbation": res_j["edits"] / max(1, res_j["n_words"]),
                                        "similarity": rec["similarity"], "target_queries": res_j["tried"],
                                        "success": float(ra < rb), "boosted_ranks": float(rb - ra),
                                        "top10": float(ra <= 10), "top50": float(ra <= 50),
                                        "seconds": rec["seconds"]})  # fmt: skip
                    if res_j["edits"]:
                        documents.append({"docno": f"{docno}~{label}~{name}~{inp.qid}", "text": res_j["attacked"],
                                          "perturbed_from": docno, "attack": label, "edits": res_j["edits"],
                                          "system": name, "qid": inp.qid})  # fmt: skip
                spent[label] += time.perf_counter() - t1
        for label, _ in active:
            timings[f"{ds.id}/attacks/{name}/{label}"] = round(spent[label], 3)
            if progress:
                print(f"[attacks] {ds.id} {name} {label}: {spent[label]:.1f}s", flush=True)
    det = pd.DataFrame(details)
    tables = []
    if len(det):
        for (system, label, set_name, task_name), grp in det.groupby(["system", "attack", "set", "task"], sort=False):
            per_q = grp.groupby("qid", sort=False)[list(MEASURES)].mean().reset_index()
            long = per_q.melt(id_vars="qid", var_name="measure", value_name="value")
            tables.append(long_rows(long, ds.id, system, task_name, f"{label}/{set_name}"))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return {"table": table, "details": det, "documents": pd.DataFrame(documents), "skipped": skipped,
            "timings": timings}  # fmt: skip


def _load(path: Any, key: str) -> dict[str, Any] | None:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("key") == key else None


def write_attack_outputs(rd: Any, outs: list[dict[str, Any]]) -> None:
    """Write ``attacks.csv`` and ``attacked_documents.csv`` (all datasets) into the run directory.

    Example:
        >>> write_attack_outputs(rd, [out])   # doctest: +SKIP
    """
    det = [o["details"] for o in outs if len(o["details"])]
    docs = [o["documents"] for o in outs if len(o["documents"])]
    atomic_write_text(rd.file("attacks.csv"), pd.concat(det, ignore_index=True).to_csv(index=False) if det else "")
    atomic_write_text(rd.file("attacked_documents.csv"),
                      pd.concat(docs, ignore_index=True).to_csv(index=False) if docs else "")  # fmt: skip
