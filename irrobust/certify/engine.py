"""Certify ranked lists query by query: fixed-N or adaptive Monte Carlo, every rule, per-query checkpoints.

For each query, the candidate list (a base ranker's top ``depth``) is re-ranked by the smoothed ranker's ĝ
and certified at every K of the grid, for every budget R and every (rule, bound) of the configuration;
see :mod:`irrobust.certify.certificate`. Samples are the expensive part and are shared by all K, R and rules
(δ_d depends on R only), so the R grid costs nothing extra.

**Adaptive sampling** (beyond the paper): samples are drawn in rounds n₀, 2n₀, 4n₀, … up to N; after each
round the (rule ``max``) decisions of every K and R are tested with :func:`~irrobust.certify.certificate.settled`
and sampling stops once all are known (certified now, or futile even at N — a heuristic that only saves
samples and cannot make a certificate unsound). With ``per_document`` (default), later rounds sample only the
documents whose confidence bounds still block an undecided K; the others keep their samples and their round's
level. The confidence level is split over the J rounds of the schedule (α/2 for the last round, α/2 split over
the earlier ones: a union bound over rounds and documents, see :meth:`CertifyConfig.levels`), so the
certificates are valid at whatever round sampling stops (anytime-valid). The fixed-N mode uses α itself.

**Checkpoints**: each query is a unit of the task :class:`CertifyQueries` (:mod:`irrobust.core.task`), its result
one record of the one checkpoint store (:class:`irrobust.core.store.UnitStore`) keyed by a hash of the list and
the configuration; a rerun loads finished queries and computes only the others, on any executor. The result of a
query is a deterministic function of (config, seed, query, list), so a killed and resumed run gives identical
results.

Example:
    >>> cfg = CertifyConfig(n_samples=100, alpha=0.05, budgets=[None, 5])
    >>> res = certify_list(smoother, sets, cfg, "q1", "vitamin d", docnos, texts, base_scores)   # doctest: +SKIP
    >>> res["decisions"]["max/bernstein/R=all"]["10"]                                          # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from irrobust.certify.certificate import (
    BOUNDS,
    CERTIFICATE_VERSION,
    K_GRID,
    RULES,
    blocking,
    certify_query,
    order,
    settled,
)
from irrobust.certify.perturb import PerturbationSets
from irrobust.certify.smoothing import SmoothedRanker
from irrobust.core.executor import run_task
from irrobust.core.store import UnitStore
from irrobust.core.task import Unit, WorkerState, unit_key
from irrobust.errors import ConfigError


def budget_label(r: int | None) -> str:
    """``"all"`` for R = None, else the number.

    Example:
        >>> budget_label(None), budget_label(5)
        ('all', '5')
    """
    return "all" if r is None else str(int(r))


@dataclass(frozen=True)
class CertifyConfig:
    """Settings of a certification run (all recorded with every result).

    Attributes:
        n_samples: N (fixed mode) or the maximum N (adaptive mode).
        alpha: failure probability per query.
        seed: the sampling seed.
        budgets: the attacker budgets R (None = every word, the paper's setting).
        ks: the K grid.
        rules: (rule, bound) pairs; ``("paper", "hoeffding")`` is the paper's rule.
        adaptive: adaptive sampling with a geometric schedule starting at ``n0``.
        per_document: in adaptive mode, later rounds sample only the documents whose bounds still block an
            undecided K under any configured bound (:func:`~irrobust.certify.certificate.blocking`) and, for the
            paper's rule, the compared pair at K, K+1; each document's bound uses the level of the last round it
            was sampled in, so the union bound over (round, document) still sums to α.

    Example:
        >>> CertifyConfig(n_samples=64, adaptive=True, n0=16).schedule()
        [16, 32, 64]
    """

    n_samples: int = 100
    alpha: float = 0.05
    seed: int = 0
    budgets: tuple[int | None, ...] = (None,)
    ks: tuple[int, ...] = K_GRID
    rules: tuple[tuple[str, str], ...] = (("paper", "hoeffding"), ("max", "hoeffding"), ("max", "bernstein"))
    adaptive: bool = False
    n0: int = 16
    adaptive_bound: str = "bernstein"
    per_document: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "budgets", tuple(self.budgets))
        object.__setattr__(self, "ks", tuple(int(k) for k in self.ks))
        object.__setattr__(self, "rules", tuple(tuple(r) for r in self.rules))
        if self.n_samples < 2:
            raise ConfigError(f"n_samples must be >= 2, got {self.n_samples}", where="certify.samples")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}", where="certify.alpha")
        if any(k < 1 for k in self.ks) or not self.ks:
            raise ConfigError("the K grid must be a non-empty list of positive integers", where="certify.ks")
        for r in self.budgets:
            if r is not None and r < 0:
                raise ConfigError(f"budgets must be >= 0 or null (all words), got {r}", where="certify.budgets")
        for rule, bound in self.rules:
            if rule not in RULES or bound not in BOUNDS:
                raise ConfigError(f"unknown (rule, bound) ({rule}, {bound}); rules {list(RULES)}, bounds {list(BOUNDS)}",
                                  where="certify.rules")  # fmt: skip
            if rule == "paper" and bound != "hoeffding":
                raise ConfigError("the paper's rule uses the Hoeffding bound only", where="certify.rules")
        if self.adaptive and not 2 <= self.n0 <= self.n_samples:
            raise ConfigError(f"adaptive sampling needs 2 <= n0 <= n_samples, got n0={self.n0}", where="certify.n0")
        if self.adaptive_bound not in BOUNDS:
            raise ConfigError(f"unknown bound {self.adaptive_bound!r}", where="certify.adaptive_bound")

    def schedule(self) -> list[int]:
        """Sample sizes after each round: n₀·2^j capped at N (fixed mode: just [N])."""
        if not self.adaptive:
            return [self.n_samples]
        out, n = [], self.n0
        while n < self.n_samples:
            out.append(n)
            n *= 2
        return out + [self.n_samples]

    def levels(self) -> list[float]:
        """The α of the certificates after each round of :meth:`schedule`; they sum to α (a union bound over the
        rounds, so whichever round sampling stops at, its certificates hold with probability ≥ 1 − α).

        Fixed mode: [α]. Adaptive: half of α for the last round (so a query sampled to the end is certified almost
        as tightly as with fixed N) and the other half split evenly over the earlier rounds, which only need to
        certify clear cases early.

        Example:
            >>> CertifyConfig(n_samples=64, adaptive=True, n0=16, alpha=0.06).levels()
            [0.015, 0.015, 0.03]
        """
        j = len(self.schedule())
        if j == 1:
            return [self.alpha]
        return [self.alpha / (2 * (j - 1))] * (j - 1) + [self.alpha / 2]

    def as_dict(self) -> dict[str, Any]:
        """JSON form.

        Example:
            >>> CertifyConfig().as_dict()["budgets"]
            [None]
        """
        d = asdict(self)
        d["budgets"], d["ks"], d["rules"] = list(self.budgets), list(self.ks), [list(r) for r in self.rules]
        # checkpoints hold decisions: those of an earlier certificate computation are not reused
        d["certificate_version"] = CERTIFICATE_VERSION
        if len(self.schedule()) > 1:  # the α of each round (checkpoints of another allocation are not reused)
            d["levels"] = self.levels()
        if not (self.per_document and len(self.schedule()) > 1):
            d.pop("per_document")  # keeps the keys of checkpoints made before the option existed
        return d


@dataclass
class _Stats:
    s1: np.ndarray
    s2: np.ndarray
    n: np.ndarray
    exact: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def add(self, i: int, values: np.ndarray) -> None:
        self.s1[i] += values.sum()
        self.s2[i] += (values**2).sum()
        self.n[i] += len(values)

    @property
    def mean(self) -> np.ndarray:
        return self.s1 / np.maximum(self.n, 1)

    @property
    def var(self) -> np.ndarray:
        n = np.maximum(self.n, 2)
        return np.maximum(self.s2 - self.s1**2 / np.maximum(self.n, 1), 0.0) / (n - 1)


def decision_key(rule: str, bound: str, budget: int | None) -> str:
    """The key of one certificate setting, e.g. ``"max/bernstein/R=all"``.

    Example:
        >>> decision_key("paper", "hoeffding", 5)
        'paper/hoeffding/R=5'
    """
    return f"{rule}/{bound}/R={budget_label(budget)}"


def certify_list(
    smoother: SmoothedRanker,
    sets: PerturbationSets,
    cfg: CertifyConfig,
    qid: str,
    query: str,
    docnos: Sequence[str],
    texts: Sequence[str],
    base_scores: Sequence[float],
) -> dict[str, Any]:
    """Smooth, rank and certify one query's candidate list; the JSON-able per-query result.

    Example:
        >>> certify_list(sm, sets, CertifyConfig(), "1", "q", ["d1", "d2"], ["t1", "t2"], [2.0, 1.0])  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    m = len(texts)
    docs = [smoother.prepare(t) for t in texts]
    exact = np.array([d.exact for d in docs], dtype=bool)
    st = _Stats(np.zeros(m), np.zeros(m), np.zeros(m, dtype=np.int64), exact)
    deltas = {budget_label(r): np.array([sets.delta(d.pos, r) for d in docs]) for r in cfg.budgets}
    levels = cfg.levels()
    doc_level = np.full(m, levels[-1] if not cfg.adaptive else levels[0])
    active = np.ones(m, dtype=bool)
    rounds, done = 0, 0
    for target, level in zip(cfg.schedule(), levels, strict=True):
        todo = [i for i in range(m) if (active[i] and not exact[i]) or st.n[i] == 0]
        for start in sorted({int(st.n[i]) for i in todo}):  # prefix-consistent draws: continue each doc's stream
            group = [i for i in todo if st.n[i] == start]
            for i, sc in zip(group, smoother.sample_scores(query, [texts[i] for i in group], start, target),
                             strict=True):  # fmt: skip
                st.add(i, sc)
            doc_level[group] = level
        done, rounds = target, rounds + 1
        if cfg.adaptive and target < cfg.n_samples:
            # per query: the adaptive bound's decisions; per document: every configured bound's
            bounds = {cfg.adaptive_bound} | ({b for rule, b in cfg.rules if rule == "max"} if cfg.per_document else set())
            open_ks: dict[tuple[Any, str], list[int]] = {}
            for r in cfg.budgets:
                for b in sorted(bounds):
                    dec = settled(st.mean, deltas[budget_label(r)], st.n, st.var, cfg.ks, b, doc_level, exact,
                                  n_final=cfg.n_samples, a_final=levels[-1])  # fmt: skip
                    open_ks[(r, b)] = [k for k, v in dec.items() if not v]
            if not any(open_ks.values()):
                break
            if cfg.per_document:
                active = np.zeros(m, dtype=bool)
                ranked = order(st.mean)
                paper = any(rule == "paper" for rule, _ in cfg.rules)
                for (r, b), ks in open_ks.items():
                    if ks:
                        active |= blocking(st.mean, deltas[budget_label(r)], st.n, st.var, ks, b, doc_level, exact)
                    for k in ks if paper else []:  # the paper's rule compares d_K with d_K+1
                        active[ranked[k - 1 : k + 1]] = True
                active &= ~exact
    decisions: dict[str, dict[str, bool]] = {}
    fixed_n = None if cfg.adaptive else done
    for rule, bound in cfg.rules:
        for r in cfg.budgets:
            dec = certify_query(st.mean, deltas[budget_label(r)], st.n, st.var, cfg.ks, rule, bound, doc_level, exact,
                                n_paper=fixed_n)  # fmt: skip
            decisions[decision_key(rule, bound, r)] = {str(k): v for k, v in dec.items()}
    sampled = st.n[~exact]
    return {
        "qid": str(qid),
        "query": query,
        "docs": [
            {
                "docno": str(d),
                "base_score": float(b),
                "g": float(g),
                "var": float(v),
                "n": int(n),
                "level": float(lv),
                "exact": bool(e),
                "delta": {k: float(deltas[k][i]) for k in deltas},
            }
            for i, (d, b, g, v, n, e, lv) in enumerate(zip(docnos, base_scores, st.mean, st.var, st.n, exact, doc_level,
                                                           strict=True))  # fmt: skip
        ],
        "samples": int(st.n.sum()),
        "samples_per_doc": float(sampled.mean()) if len(sampled) else 0.0,
        "rounds": rounds,
        "level": float(doc_level.min()),
        "decisions": decisions,
        "seconds": round(time.perf_counter() - t0, 3),
    }


@dataclass
class CertifiedQueries:
    """The typed output of :class:`CertifyQueries`: one JSON-able result per query (:func:`certify_list`), in the
    order of the lists.

    Example:
        >>> CertifiedQueries([{"qid": "1"}]).qids()
        ['1']
    """

    results: list[dict[str, Any]]

    def qids(self) -> list[str]:
        """The certified queries, in order."""
        return [r["qid"] for r in self.results]


class CertifyQueries:
    """The certification task of one ranker (:mod:`irrobust.core.task`): one unit per candidate list.

    A unit's key hashes the list (qid, query, docnos, texts, base scores), the :class:`CertifyConfig` and
    ``settings`` (whatever else the smoothed ranker depends on: the system, the squashing, the perturbation sets);
    its result is :func:`certify_list`'s, a deterministic function of those. ``smoother`` is the
    :class:`~irrobust.certify.smoothing.SmoothedRanker` (or a :class:`~irrobust.core.task.WorkerState` building it
    in each worker process).

    Example:
        >>> task = CertifyQueries(smoother, CertifyConfig(n_samples=32), lists, {"system": "bm25"})  # doctest: +SKIP
        >>> run_task(task, UnitStore(tmp), LocalExecutor()).results[0]["decisions"]             # doctest: +SKIP
    """

    name = "certify"

    def __init__(self, smoother: SmoothedRanker | WorkerState[SmoothedRanker], cfg: CertifyConfig,
                 lists: Sequence[dict[str, Any]], settings: Any = None) -> None:  # fmt: skip
        self.smoother = smoother if isinstance(smoother, WorkerState) else WorkerState.driver_only(smoother, "this certification task's smoothed ranker", "certify")
        self.cfg, self.settings = cfg, settings
        self.lists = [{"qid": str(x["qid"]), "query": str(x["query"]), "docnos": [str(d) for d in x["docnos"]],
                       "texts": [str(t) for t in x["texts"]], "scores": [float(v) for v in x["scores"]]}
                      for x in lists]  # fmt: skip

    def units(self) -> list[Unit]:
        """One unit per list, keyed by the list's content, the configuration and the settings."""
        return [Unit(unit_key("certify-list", self.settings, self.cfg.as_dict(), lst), lst, lst["qid"])
                for lst in self.lists]  # fmt: skip

    def run(self, unit: Unit) -> dict[str, Any]:
        """:func:`certify_list` of the unit's list."""
        sm, lst = self.smoother.get(), unit.inputs
        return certify_list(sm, sm.sets, self.cfg, lst["qid"], lst["query"], lst["docnos"], lst["texts"],
                            lst["scores"])  # fmt: skip

    def combine(self, results: Sequence[dict[str, Any]]) -> CertifiedQueries:
        """The results in list order."""
        return CertifiedQueries(list(results))


def certify_lists(
    smoother: SmoothedRanker,
    sets: PerturbationSets,
    cfg: CertifyConfig,
    lists: Sequence[dict[str, Any]],
    store: UnitStore | None = None,
    hook: Any = None,
    settings: Any = None,
    executor: Any = None,
) -> list[dict[str, Any]]:
    """Certify many lists (``{"qid", "query", "docnos", "texts", "scores"}``) through :class:`CertifyQueries`,
    reusing the results ``store`` holds (:class:`~irrobust.core.store.UnitStore`) and running the others on
    ``executor`` (default: in this process).

    ``hook(result)`` is called after each query computed (not loaded) in this call. ``sets`` must be the
    smoother's perturbation sets.

    Example:
        >>> certify_lists(sm, sets, CertifyConfig(), lists, UnitStore(tmp))   # doctest: +SKIP
    """
    if sets is not smoother.sets:
        raise ConfigError("certify_lists: sets must be the smoother's perturbation sets", where="certify")
    task = CertifyQueries(smoother, cfg, lists, settings)
    if store is None:
        results = []
        for unit in task.units():
            results.append(task.run(unit))
            if hook is not None:
                hook(results[-1])
        return task.combine(results).results
    on_result = None if hook is None else (lambda unit, res: hook(res))
    return run_task(task, store, executor, on_result).results


__all__ = ["CertifiedQueries", "CertifyConfig", "CertifyQueries", "budget_label", "certify_list", "certify_lists",
           "decision_key"]
