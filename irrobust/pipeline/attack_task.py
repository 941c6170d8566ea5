"""Robustness tasks 4–5 in a pipeline run: attack every system's ranked lists, checkpointed per target document.

For each attacked system (its last stage is the target, see :mod:`irrobust.attacks.victims`):

1. the system ranks a seeded sample of queries (``max_queries``); the top ``depth`` documents of each
   list are scored by the target (clean scores; the rank of an attacked document is its position among
   the *other* documents' clean scores);
2. PRADA's surrogate is trained once on those lists (pseudo relevance feedback; checkpointed);
3. every attack in ``items`` promotes the easy / hard target documents of every list: the
   :class:`~irrobust.attacks.attacker.Attacker` task, one unit per (attack, query, target document), run on the
   pipeline's executor. Each finished unit is a record of the one checkpoint store
   (:class:`~irrobust.core.store.UnitStore`, ``attacks/<dataset>/<system>/units/``) keyed by a hash of everything
   it depends on; a rerun reuses matching records, so a killed run resumes where it stopped and gives identical
   results. Ray workers rebuild the system's target once each (:func:`_worker_state`).

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
import time
from collections.abc import Callable
from dataclasses import dataclass
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


def _surrogate(lists: list[dict[str, Any]], spec: Any, seed: int, threads: int, path: Any) -> bytes:
    """PRADA's surrogate weights (safetensors bytes): trained once on the attacked lists, then read from ``path``."""
    from irrobust.attacks.surrogate import surrogate_state, train_surrogate

    if path.is_file():
        return path.read_bytes()
    model = train_surrogate([(x["query"], x["texts"], x["scores"]) for x in lists], seed=seed, epochs=spec.epochs,
                            n_pos=spec.n_pos, neg_from=spec.neg_from, neg_per_pos=spec.neg_per_pos,
                            threads=threads)  # fmt: skip
    atomic_write_bytes(path, surrogate_state(model))
    return path.read_bytes()  # the same weights a resumed run loads


def _whitebox(stage: Any) -> Any:
    from irrobust.attacks.victims import attack_white_box

    return attack_white_box(stage)


@dataclass
class AttackOutput:
    """What tasks 4–5 give one dataset: long-table rows, per-target rows, attacked documents, skipped (system,
    attack) pairs and timings.

    Example:
        >>> AttackOutput(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [], {}).skipped
        []
    """

    table: pd.DataFrame
    details: pd.DataFrame
    documents: pd.DataFrame
    skipped: list[dict[str, str]]
    timings: dict[str, float]


def _attack_state(cfg: Any, ds: Any, system: Any, surrogate: bytes | None, needs_whitebox: bool) -> Any:
    """The target and context of one system's attacks, in this process."""
    from irrobust.attacks.attacker import AttackState
    from irrobust.attacks.constraints import default_stopwords
    from irrobust.attacks.goal import CachedTarget
    from irrobust.attacks.recipe import AttackContext
    from irrobust.attacks.surrogate import load_surrogate
    from irrobust.attacks.transformation import SynonymSwap
    from irrobust.attacks.victims import attack_target, last_stage
    from irrobust.data.synonyms import load_counterfitted
    from irrobust.index.lucene import lucene_index

    task = cfg.tasks.attacks
    stage = last_stage(system)
    target = CachedTarget(attack_target(stage, threads=task.threads), batch_size=task.target_batch)
    whitebox = _whitebox(stage) if needs_whitebox else None
    ctx = AttackContext(SynonymSwap(load_counterfitted()), default_stopwords(),
                        minilm_cosine if task.similarity else None, task.batch_size,
                        lucene_index(ds.collection, progress=False), whitebox,
                        load_surrogate(surrogate) if surrogate is not None else None)  # fmt: skip
    return AttackState(target, ctx)


def _worker_state(config: dict[str, Any], ds_id: str, name: str, surrogate: bytes | None,
                  needs_whitebox: bool) -> Any:  # fmt: skip
    """Rebuild a system's attack state in a worker process (:class:`~irrobust.core.task.WorkerState`); the pipeline's
    systems are built once per worker process (:mod:`irrobust.pipeline.workers`) as the driver built them."""
    import torch

    from irrobust.pipeline.workers import worker_system

    cfg, ds, system = worker_system(config, ds_id, name)
    torch.set_num_threads(cfg.tasks.attacks.threads)
    return _attack_state(cfg, ds, system, surrogate, needs_whitebox)


def run_attack_task(cfg: Any, ds: Any, built: dict[str, Any], rd: Any, progress: bool = True,
                    hook: Callable[[dict[str, Any]], None] | None = None, executor: Any = None) -> AttackOutput:  # fmt: skip
    """Run tasks 4–5 on one dataset (units on ``executor``, default in this process).

    ``hook(row)`` is called after each target document computed in this call (not for reused checkpoints).

    Example:
        >>> out = run_attack_task(cfg, ds, built, rd)   # doctest: +SKIP
        >>> out.details.columns[:3].tolist()             # doctest: +SKIP
        ['dataset', 'system', 'attack']
    """
    import torch

    from irrobust.attacks.attacker import Attacker
    from irrobust.attacks.targets import select_targets
    from irrobust.core.executor import LocalExecutor, run_task
    from irrobust.core.store import UnitStore
    from irrobust.core.task import WorkerState
    from irrobust.evaluate.table import long_rows
    from irrobust.rankers.training import select_queries
    from irrobust.util.names import slug

    task = cfg.tasks.attacks
    executor = executor if executor is not None else LocalExecutor()
    torch.set_num_threads(task.threads)
    queries = select_queries(ds.queries, task.max_queries, cfg.seed)
    recipes = [(item.label or item.attack, item.recipe) for item in task.items]
    needs_whitebox = any(r.needs_whitebox for _, r in recipes)
    tg = task.targets
    config = cfg.model_dump(mode="json", exclude={"executor"})
    details: list[dict[str, Any]] = []
    documents: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    timings: dict[str, float] = {}
    for name in attacked_systems(cfg):
        t0 = time.perf_counter()
        system = built[name]
        sys_dir = f"attacks/{slug(ds.id)}/{slug(name)}"
        sys_key = sha256_json({"system": system.spec(), "dataset": ds.id, "docs": ds.docs_checksum, "seed": cfg.seed,
                               "depth": tg.depth, "queries": queries["qid"].astype(str).tolist()})  # fmt: skip
        here = _attack_state(cfg, ds, system, None, needs_whitebox)
        lists = _ranked_lists(system, here.target, queries, ds, tg.depth)
        lists_path = rd.file(f"{sys_dir}/lists-{sys_key[:16]}.json")
        if not lists_path.is_file():  # the attacked lists with the target's clean scores (for analyses of a run)
            atomic_write_json(lists_path, [{"qid": x["qid"], "query": x["query"], "docnos": x["docnos"],
                                            "scores": [float(v) for v in x["scores"]]} for x in lists])  # fmt: skip
        surrogate = None
        if any(r.needs_surrogate for _, r in recipes):
            from irrobust.attacks.surrogate import load_surrogate

            sur_key = sha256_json({"system": sys_key, "surrogate": task.surrogate.model_dump(mode="json")})
            surrogate = _surrogate(lists, task.surrogate, cfg.seed, task.threads,
                                   rd.file(f"{sys_dir}/surrogate-{sur_key[:16]}.safetensors"))  # fmt: skip
            here.ctx.surrogate = load_surrogate(surrogate)
        timings[f"{ds.id}/attacks/{name}/setup"] = round(time.perf_counter() - t0, 3)
        active = []
        for label, recipe in recipes:
            if recipe.needs_whitebox and here.ctx.whitebox is None:
                skipped.append({"system": name, "attack": label, "reason": "target not differentiable"})
                continue
            active.append((label, recipe))
        selections = []
        for lst in lists:
            sel = select_targets(len(lst["docnos"]), lst["qid"], cfg.seed, tuple(map(tuple, tg.buckets)),
                                 tg.per_bucket, tg.hard, tuple(tg.sets), key=name)  # fmt: skip
            by_rank: dict[int, list[str]] = {}
            for set_name, ranks in sel.items():
                for r in ranks:
                    by_rank.setdefault(r, []).append(set_name)
            selections.append(by_rank)
        state = WorkerState(functools.partial(_worker_state, config, ds.id, name, surrogate, needs_whitebox), here)
        attacker = Attacker(state, active, lists, selections, cfg.seed,
                            {"system": sys_key, "similarity": task.similarity, "batch": task.batch_size}, ds.id,
                            name)  # fmt: skip

        def on_result(unit: Any, rec: Any, attacker: Attacker = attacker, name: str = name) -> None:
            if hook is not None:
                lst = attacker.lists[unit.inputs["list"]]
                hook({"system": name, "attack": attacker.recipes[unit.inputs["attack"]][0], "qid": lst["qid"],
                      "docno": lst["docnos"][unit.inputs["rank"] - 1]})  # fmt: skip

        t_units = time.perf_counter()
        out = run_task(attacker, UnitStore(rd.file(f"{sys_dir}/units/.keep").parent), executor, on_result)
        timings[f"{ds.id}/attacks/{name}/units"] = round(time.perf_counter() - t_units, 3)  # the executor's part
        details.extend(out.details)
        documents.extend(out.documents)
        for label, _ in active:
            timings[f"{ds.id}/attacks/{name}/{label}"] = round(out.seconds[label], 3)
            if progress:
                print(f"[attacks] {ds.id} {name} {label}: {out.seconds[label]:.1f}s", flush=True)
    det = pd.DataFrame(details)
    tables = []
    if len(det):
        for (system, label, set_name, task_name), grp in det.groupby(["system", "attack", "set", "task"], sort=False):
            per_q = grp.groupby("qid", sort=False)[list(MEASURES)].mean().reset_index()
            long = per_q.melt(id_vars="qid", var_name="measure", value_name="value")
            tables.append(long_rows(long, ds.id, system, task_name, f"{label}/{set_name}"))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    return AttackOutput(table, det, pd.DataFrame(documents), skipped, timings)


def write_attack_outputs(rd: Any, outs: list[AttackOutput]) -> None:
    """Write ``attacks.csv`` and ``attacked_documents.csv`` (all datasets) into the run directory.

    Example:
        >>> write_attack_outputs(rd, [out])   # doctest: +SKIP
    """
    det = [o.details for o in outs if len(o.details)]
    docs = [o.documents for o in outs if len(o.documents)]
    atomic_write_text(rd.file("attacks.csv"), pd.concat(det, ignore_index=True).to_csv(index=False) if det else "")
    atomic_write_text(rd.file("attacked_documents.csv"),
                      pd.concat(docs, ignore_index=True).to_csv(index=False) if docs else "")  # fmt: skip
