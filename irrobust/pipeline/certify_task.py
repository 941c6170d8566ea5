"""The certification task of retrieval pipelines (``tasks.certify``): CertDR for every system, exact BM25 certificates.

For each certified system: its top-``depth`` list per query (seeded query sample), the bounded base scorer of
its last stage (:func:`irrobust.certify.targets.smoothing_scorer`), the smoothed ranker, and the
certificates of :mod:`irrobust.certify.engine` for every K, budget R and (rule, bound); BM25 systems also get
the exact deterministic certificate under the frozen index (:mod:`irrobust.certify.exact_bm25`) and the one that
also holds after re-indexing the attacked collection (:mod:`irrobust.certify.exact_reindexed`). Each query is a unit of a task
(:class:`~irrobust.certify.engine.CertifyQueries`, :class:`ExactCertify`) whose result the one checkpoint store
(:class:`~irrobust.core.store.UnitStore`) keeps under ``certify/<dataset>/<system>/{smoothed,exact}/``, so a killed
run resumes with identical results; the units run on the pipeline's executor (in this process, or on Ray workers
that rebuild the system once each, :func:`_worker_state`).

Rows of the long results table:

* task ``certify``: condition ``<rule>-<bound>-R<R>`` (or ``exact-R<R>``, ``exact-reindexed-R<R>``), measure ``CRQ@K``, value 0/1 per query;
* task ``certify-clean``: condition ``base`` / ``smoothed``, measure nDCG@10 / RR@10 of the candidate list
  ranked by the base scores / by ĝ.

``certify/certificates.csv`` has one row per (system, query, rule, bound, R, K) with N, α, the per-round
level, the samples used, the seed, M, the graph, the neighbour cut, the squashing and the
query's compute seconds (kept in its checkpoint, so a resumed run reports the real cost).

Example:
    >>> out = run_certify_task(cfg, ds, built, rd)   # doctest: +SKIP
    >>> out.table.task.unique()                       # doctest: +SKIP
    array(['certify', 'certify-clean'], dtype=object)
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from irrobust.core.task import Unit, WorkerState, unit_key
from irrobust.errors import ModelError
from irrobust.pipeline.lists import top_lists

CLEAN_MEASURES = ["nDCG@10", "RR@10"]


def certified_systems(cfg: Any) -> list[str]:
    """Systems the task certifies: the listed ones, else every non-fusion system.

    Example:
        >>> certified_systems(type("C", (), {"tasks": type("T", (), {"certify": type("A", (), {"systems": ["x"]})()})(),
        ...                                  "systems": []})())
        ['x']
    """
    task = cfg.tasks.certify
    if task.systems:
        return list(task.systems)
    return [s.name for s in cfg.systems if getattr(s, "fuse", None) is None]


def _exact_result(
    scorer: Any, sets: Any, lst: dict[str, Any], budgets: list[int | None], ks: list[int]
) -> dict[str, Any]:
    from irrobust.certify.engine import budget_label
    from irrobust.certify.exact_bm25 import certify_exact, max_score_under_attack
    from irrobust.certify.exact_reindexed import certify_reindexed

    t0 = time.perf_counter()
    clean = scorer.score_texts(lst["query"], lst["texts"]).astype(np.float64)
    out: dict[str, Any] = {"qid": lst["qid"], "decisions": {}, "gain": {}, "relaxed": {}, "reindexed": {}}
    for r in budgets:
        bounds = [max_score_under_attack(scorer, sets, lst["query"], t, budget=r) for t in lst["texts"]]
        best = np.array([b.score for b in bounds])
        label = budget_label(r)
        out["decisions"][label] = {str(k): v for k, v in certify_exact(clean, best, ks).items()}
        out["gain"][label] = [float(b.gain) for b in bounds]
        out["relaxed"][label] = int(sum(not b.exact for b in bounds))
        # sound also when the attacked collection is re-indexed (df, avgdl, N change): exact_reindexed
        reidx = certify_reindexed(scorer, sets, lst["query"], lst["texts"], r, ks)
        out["reindexed"][label] = {str(k): v for k, v in reidx.decisions.items()}
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


@dataclass
class CertifyOutput:
    """What the certification task gives one dataset: long-table rows, certificate rows, skipped systems, timings,
    and the perturbation sets' summary.

    Example:
        >>> CertifyOutput(pd.DataFrame(), pd.DataFrame(), [], {}, {}).skipped
        []
    """

    table: pd.DataFrame
    details: pd.DataFrame
    skipped: list[dict[str, str]]
    timings: dict[str, float]
    sets: dict[str, Any]


@dataclass
class _SystemState:
    """What certifying one system needs in a process: the perturbation sets, the smoothed ranker of its bounded base
    scorer, the squashing and kind, and (BM25) the Lucene scorer of the exact certificates."""

    sets: Any
    smoother: Any
    squash: Any
    kind: str
    lucene: Any


def _perturbation_sets(ds: Any, task: Any) -> Any:
    from irrobust.certify.perturb import PerturbationSets

    return PerturbationSets.from_dataset(ds, min_freq=task.min_freq, max_set=task.max_set, graph=task.graph,
                                         neighbours=task.neighbours)  # fmt: skip


def _system_state(cfg: Any, ds_id: str, sets: Any, system: Any, name: str) -> _SystemState:
    """Build the certification state of one built system (raises :class:`ModelError` when it cannot be smoothed)."""
    from irrobust.attacks.victims import last_stage
    from irrobust.certify.smoothing import SmoothedRanker
    from irrobust.certify.targets import smoothing_scorer
    from irrobust.data.dataset import train_split_of

    task = cfg.tasks.certify
    stage = last_stage(system)
    scorer, squash, kind = smoothing_scorer(stage, train_split_of(ds_id) or ds_id, seed=cfg.seed,
                                            n_queries=task.calibration_queries, threads=task.threads)  # fmt: skip
    n = int(task.system_samples.get(name, task.samples))
    lucene = getattr(stage, "lucene_scorer", None) if kind == "bm25" else None  # exact certificates: BM25 alone
    return _SystemState(sets, SmoothedRanker(scorer, sets, n_samples=n, seed=cfg.seed), squash, kind, lucene)


def _worker_state(config: dict[str, Any], ds_id: str, name: str) -> _SystemState:
    """Rebuild a system's certification state in a worker process (:class:`~irrobust.core.task.WorkerState`): the
    pipeline's systems and the perturbation sets are built once per worker process (:mod:`irrobust.pipeline.workers`)
    exactly as the driver built them."""
    import torch

    from irrobust.pipeline.workers import worker_sets, worker_system

    cfg, ds, system = worker_system(config, ds_id, name)
    torch.set_num_threads(cfg.tasks.certify.threads)
    return _system_state(cfg, ds_id, worker_sets(ds, cfg.tasks.certify), system, name)


class ExactCertify:
    """The exact BM25 certificates of one system (:mod:`irrobust.certify.exact_bm25`, frozen index, and
    :mod:`irrobust.certify.exact_reindexed`): a task with one unit per candidate list.

    Example:
        >>> ExactCertify(state, lists, [None, 1], [1, 3], {"system": "bm25"}).units()[0].label   # doctest: +SKIP
        '1'
    """

    name = "certify-exact"

    def __init__(self, state: WorkerState[_SystemState], lists: list[dict[str, Any]], budgets: list[int | None],
                 ks: list[int], settings: Any) -> None:  # fmt: skip
        self.state, self.budgets, self.ks, self.settings = state, list(budgets), list(ks), settings
        self.lists = [{"qid": str(x["qid"]), "query": str(x["query"]), "docnos": [str(d) for d in x["docnos"]],
                       "texts": [str(t) for t in x["texts"]]} for x in lists]  # fmt: skip

    def units(self) -> list[Unit]:
        """One unit per list."""
        return [Unit(unit_key("certify-exact", self.settings, self.budgets, self.ks, lst), lst, lst["qid"])
                for lst in self.lists]  # fmt: skip

    def run(self, unit: Unit) -> dict[str, Any]:
        """The exact certificates of one list for every budget and K."""
        st = self.state.get()
        return _exact_result(st.lucene, st.sets, unit.inputs, self.budgets, self.ks)

    def combine(self, results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The results in list order."""
        return list(results)


def run_certify_task(cfg: Any, ds: Any, built: dict[str, Any], rd: Any, progress: bool = True,
                     executor: Any = None) -> CertifyOutput:  # fmt: skip
    """Run the certification task on one dataset (units on ``executor``, default in this process).

    Example:
        >>> run_certify_task(cfg, ds, built, rd).table.task.unique()   # doctest: +SKIP
        array(['certify', 'certify-clean'], dtype=object)
    """
    import torch

    from irrobust.certify.certificate import crq
    from irrobust.certify.engine import CertifyConfig, CertifyQueries, budget_label, decision_key
    from irrobust.core.executor import LocalExecutor, run_task
    from irrobust.core.store import UnitStore
    from irrobust.core.transformer import add_ranks
    from irrobust.evaluate.measures import per_query
    from irrobust.rankers.training import select_queries
    from irrobust.util.names import slug

    task = cfg.tasks.certify
    executor = executor if executor is not None else LocalExecutor()
    torch.set_num_threads(task.threads)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    sets = _perturbation_sets(ds, task)
    timings[f"{ds.id}/certify/perturbation-sets"] = round(time.perf_counter() - t0, 3)
    queries = select_queries(ds.queries, task.max_queries, cfg.seed)
    config = cfg.model_dump(mode="json", exclude={"executor"})
    rows: list[tuple[Any, ...]] = []
    details: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    for name in certified_systems(cfg):
        t1 = time.perf_counter()
        system = built[name]
        try:
            here = _system_state(cfg, ds.id, sets, system, name)
        except ModelError as exc:
            skipped.append({"system": name, "reason": str(exc)})
            continue
        state = WorkerState(functools.partial(_worker_state, config, ds.id, name), here)
        squash, kind = here.squash, here.kind
        n = here.smoother.n_samples
        ks = [k for k in task.ks if k < task.depth]
        ccfg = CertifyConfig(n_samples=n, alpha=task.alpha, seed=cfg.seed, budgets=tuple(task.budgets), ks=tuple(ks),
                             rules=tuple((r.rule, r.bound) for r in task.rules), adaptive=task.adaptive,
                             n0=min(task.n0, n), per_document=task.per_document)  # fmt: skip
        cap = task.system_max_queries.get(name)
        lists = top_lists(system, queries if cap is None else queries.head(cap), ds, task.depth)
        key = {"system": system.spec(), "dataset": ds.id, "docs": ds.docs_checksum, "config": ccfg.as_dict(),
               "squash": squash.as_dict(), "sets": sets.summary(), "depth": task.depth}  # fmt: skip
        store = UnitStore(rd.file(f"certify/{slug(ds.id)}/{slug(name)}/smoothed/.keep").parent)
        smoother = WorkerState(functools.partial(_smoother_of, state), here.smoother)
        done = [0]

        def hook(unit: Unit, res: dict[str, Any], name: str = name, total: int = len(lists),
                 done: list[int] = done) -> None:  # fmt: skip
            done[0] += 1
            if progress:
                print(f"[certify {name}] query {res['qid']} ({done[0]}/{total}) {res['seconds']:.1f}s", flush=True)

        t_units = time.perf_counter()
        results = run_task(CertifyQueries(smoother, ccfg, lists, key), store, executor, hook).results
        timings[f"{ds.id}/certify/{name}/units"] = round(time.perf_counter() - t_units, 3)  # the executor's part
        timings[f"{ds.id}/certify/{name}"] = round(time.perf_counter() - t1, 3)
        base_runs, smooth_runs = [], []
        for res in results:
            for dkey, dec in _config_order(res["decisions"], [decision_key(r.rule, r.bound, b) for r in task.rules
                                                              for b in task.budgets]):  # fmt: skip
                rule, bound, rlab = dkey.split("/")
                cond = f"{rule}-{bound}-{rlab.replace('=', '')}"
                for k, v in _config_order(dec, [str(k) for k in ks]):
                    rows.append((ds.id, name, "certify", cond, res["qid"], f"CRQ@{k}", float(v)))
                    details.append({"dataset": ds.id, "system": name, "kind": kind, "qid": res["qid"], "rule": rule,
                                    "bound": bound, "budget": rlab[2:], "K": int(k), "certified": bool(v),
                                    "n_samples": n, "samples_per_doc": res["samples_per_doc"],
                                    "samples": res["samples"], "alpha": task.alpha, "level": res["level"],
                                    "adaptive": task.adaptive, "seed": cfg.seed, "max_set": task.max_set,
                                    "graph": task.graph, "neighbours": task.neighbours, "squash": squash.kind,
                                    "depth": task.depth, "seconds": res["seconds"]})  # fmt: skip
            docs = pd.DataFrame(res["docs"])
            base_runs.append(pd.DataFrame({"qid": res["qid"], "docno": docs.docno, "score": docs.base_score}))
            smooth_runs.append(pd.DataFrame({"qid": res["qid"], "docno": docs.docno, "score": docs.g}))
        for cond, runs in (("base", base_runs), ("smoothed", smooth_runs)):
            if not runs:
                continue
            run = add_ranks(pd.concat(runs, ignore_index=True))
            pq = per_query(run, ds.qrels, CLEAN_MEASURES)
            pq = pq[pq["qid"].isin(run["qid"].unique())]
            rows.extend((ds.id, name, "certify-clean", cond, q, m, float(v)) for q, m, v in pq.itertuples(index=False))
        if progress and results:
            key0 = next(iter(results[0]["decisions"]))
            dec = [{int(k): v for k, v in r["decisions"][key0].items()} for r in results]
            print(f"[certify {name}] CRQ ({key0}): {crq(dec, ks)}", flush=True)
        if task.exact_bm25 and here.lucene is not None:
            t2 = time.perf_counter()
            estore = UnitStore(rd.file(f"certify/{slug(ds.id)}/{slug(name)}/exact/.keep").parent)
            exact = ExactCertify(state, lists, list(task.budgets), ks, {**key, "exact": True, "reindexed": True})
            for res in run_task(exact, estore, executor):
                for rule, decs in (("exact", res["decisions"]), ("exact-reindexed", res["reindexed"])):
                    for rlab, dec in _config_order(decs, [budget_label(b) for b in task.budgets]):
                        for k, v in _config_order(dec, [str(k) for k in ks]):
                            rows.append((ds.id, name, "certify", f"{rule}-R{rlab}", res["qid"], f"CRQ@{k}", float(v)))
                            details.append({"dataset": ds.id, "system": name, "kind": "bm25-exact", "qid": res["qid"],
                                            "rule": rule, "bound": "none", "budget": rlab, "K": int(k),
                                            "certified": bool(v), "n_samples": 0, "samples_per_doc": 0, "samples": 0,
                                            "alpha": 0.0, "level": 0.0, "adaptive": False, "seed": cfg.seed,
                                            "max_set": task.max_set, "graph": task.graph,
                                            "neighbours": task.neighbours, "squash": "none",
                                            "depth": task.depth, "relaxed_docs": res["relaxed"][rlab],
                                            "seconds": res["seconds"]})  # fmt: skip
            timings[f"{ds.id}/certify/{name}/exact"] = round(time.perf_counter() - t2, 3)
    cols = ["dataset", "system", "task", "condition", "qid", "measure", "value"]
    return CertifyOutput(pd.DataFrame(rows, columns=cols), pd.DataFrame(details), skipped, timings, sets.summary())


def _smoother_of(state: WorkerState[_SystemState]) -> Any:
    """The smoothed ranker of a worker's system state (built there on first use)."""
    return state.get().smoother


def _config_order(mapping: dict[str, Any], order: list[str]) -> list[tuple[str, Any]]:
    """The items of a result mapping in the configuration's order (then any others, sorted).

    A result computed now keeps the engine's insertion order, one loaded from its JSON checkpoint has sorted keys;
    iterating in a fixed order makes a resumed run's tables identical to an uninterrupted run's.

    Example:
        >>> _config_order({"10": 1, "3": 0, "1": 1}, ["1", "3", "10"])
        [('1', 1), ('3', 0), ('10', 1)]
    """
    pos = {key: i for i, key in enumerate(order)}
    return sorted(mapping.items(), key=lambda kv: (pos.get(kv[0], len(pos)), kv[0]))


def write_certify_outputs(rd: Any, outs: list[CertifyOutput]) -> None:
    """Write ``certify/certificates.csv`` (one row per certificate) and ``certify/summary.json``.

    Example:
        >>> write_certify_outputs(rd, [out])   # doctest: +SKIP
    """
    from irrobust.util.io import atomic_write_json, atomic_write_text

    details = pd.concat([o.details for o in outs], ignore_index=True) if outs else pd.DataFrame()
    atomic_write_text(rd.file("certify/certificates.csv"), details.to_csv(index=False))
    atomic_write_json(rd.file("certify/summary.json"), {"sets": [o.sets for o in outs],
                                                        "skipped": [s for o in outs for s in o.skipped],
                                                        "timings": {k: v for o in outs for k, v in o.timings.items()}})  # fmt: skip


__all__ = ["CertifyOutput", "ExactCertify", "certified_systems", "run_certify_task", "write_certify_outputs"]
