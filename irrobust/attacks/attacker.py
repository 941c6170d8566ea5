"""The attacker: runs attack recipes over the target documents of ranked lists, one unit per attacked document.

A recipe (:mod:`irrobust.attacks.recipe`) attacks *one* document of *one* list; the :class:`Attacker` is the task
(:mod:`irrobust.core.task`) that applies every recipe to every selected target document of every list — the
separation TextAttack makes between an ``Attack`` and its ``Attacker``. Each (attack, query, target document) is
a unit whose result is the recipe's :class:`~irrobust.attacks.goal.AttackResult` (as JSON), the MiniLM similarity
of the attacked text and the compute seconds; an executor (:mod:`irrobust.core.executor`) runs the units and the
one checkpoint store keeps their results, so an interrupted attack resumes where it stopped, on any executor.

Units come query by query, every attack on the query's targets (an interrupted run holds paired results); a
target document is attacked once even when it belongs to several target sets, and
:meth:`Attacker.combine` writes one row per (target, set).

Example:
    >>> attacker = Attacker(state, recipes, lists, selections, seed=5, settings={"system": "..."},
    ...                     dataset="cranfield", system="bm25")                          # doctest: +SKIP
    >>> out = run_task(attacker, UnitStore(tmp), LocalExecutor())                         # doctest: +SKIP
    >>> out.details[0]["rank_after"] <= out.details[0]["rank_before"]                      # doctest: +SKIP
    True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from irrobust.core.task import Unit, WorkerState, unit_key


@dataclass
class AttackState:
    """What running a recipe needs in a process: the (cached, counting) target and the recipes' context.

    Example:
        >>> AttackState(target=None, ctx=None).similarity is None
        True
    """

    target: Any
    ctx: Any

    @property
    def similarity(self) -> Callable[[str, str], float] | None:
        """The similarity function of the context (``None`` when similarity is off)."""
        return getattr(self.ctx, "similarity", None)


@dataclass
class AttackOutcome:
    """The typed output of an :class:`Attacker`: one row per (target document, target set), the attacked documents
    (those with at least one edit) and the compute seconds per attack label.

    Example:
        >>> AttackOutcome([], [], {}).documents
        []
    """

    details: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    seconds: dict[str, float]


class Attacker:
    """Every recipe on every selected target document of every list (see the module docstring).

    Args:
        state: the target and context, or a :class:`~irrobust.core.task.WorkerState` building them per process.
        recipes: ``(label, recipe)`` pairs, in output order.
        lists: ranked lists ``{"qid", "query", "docnos", "texts", "scores"}`` in the target's order.
        selections: per list, the target sets of each selected rank (``{rank: [set names]}``, ranks from 1).
        seed: the attacks' seed.
        settings: what else a result depends on (the system, the dataset, the similarity, the batch size), hashed
            into every unit key.
        dataset, system: names written into the rows.

    Example:
        >>> Attacker(state, [("random", recipe)], lists, [{11: ["easy"]}], 5, {}, "d", "s").units()[0].label
        ...                                                                                    # doctest: +SKIP
        'random 1 doc7'
    """

    name = "attacks"

    def __init__(self, state: AttackState | WorkerState[AttackState], recipes: Sequence[tuple[str, Any]],
                 lists: Sequence[dict[str, Any]], selections: Sequence[dict[int, list[str]]], seed: int,
                 settings: Any, dataset: str, system: str) -> None:  # fmt: skip
        self.state = state if isinstance(state, WorkerState) else WorkerState.driver_only(state, "this attacker's target and context", "attacks")
        self.recipes = list(recipes)
        self.lists = [{"qid": str(x["qid"]), "query": str(x["query"]), "docnos": [str(d) for d in x["docnos"]],
                       "texts": [str(t) for t in x["texts"]], "scores": [float(v) for v in x["scores"]]}
                      for x in lists]  # fmt: skip
        self.selections = [{int(r): list(s) for r, s in sel.items()} for sel in selections]
        self.seed, self.settings, self.dataset, self.system = int(seed), settings, dataset, system

    def units(self) -> list[Unit]:
        """One unit per (list, attack, target rank), query by query."""
        out = []
        for li, (lst, by_rank) in enumerate(zip(self.lists, self.selections, strict=True)):
            for ai, (label, recipe) in enumerate(self.recipes):
                for r in sorted(by_rank):
                    docno = lst["docnos"][r - 1]
                    key = unit_key({"settings": self.settings, "recipe": recipe.spec(), "qid": lst["qid"],
                                    "docno": docno})  # fmt: skip
                    out.append(Unit(key, {"list": li, "attack": ai, "rank": r}, f"{label} {lst['qid']} {docno}"))
        return out

    def run(self, unit: Unit) -> dict[str, Any]:
        """Attack one target document with one recipe; the result as JSON, its similarity and compute seconds."""
        from irrobust.attacks.goal import AttackInput

        st = self.state.get()
        lst = self.lists[unit.inputs["list"]]
        _, recipe = self.recipes[unit.inputs["attack"]]
        i = unit.inputs["rank"] - 1
        inp = AttackInput(lst["qid"], lst["query"], lst["docnos"][i], lst["texts"][i], lst["docnos"], lst["texts"],
                          lst["scores"], i, self.seed)  # fmt: skip
        t0 = time.perf_counter()
        res = recipe.attack(inp, st.target, st.ctx)
        sim = st.similarity(inp.text, res.attacked) if st.similarity is not None else float("nan")
        return {"result": res.to_json(), "similarity": sim, "seconds": round(time.perf_counter() - t0, 4)}

    def combine(self, results: Sequence[dict[str, Any]]) -> AttackOutcome:
        """Rows per (target, set) and attacked documents, in unit order."""
        details: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        seconds: dict[str, float] = {label: 0.0 for label, _ in self.recipes}
        for unit, rec in zip(self.units(), results, strict=True):
            lst = self.lists[unit.inputs["list"]]
            label, recipe = self.recipes[unit.inputs["attack"]]
            r = unit.inputs["rank"]
            docno, qid, res_j = lst["docnos"][r - 1], lst["qid"], rec["result"]
            seconds[label] += float(rec["seconds"])
            rb, ra = int(res_j["rank_before"]), int(res_j["rank_after"])
            for set_name in self.selections[unit.inputs["list"]][r]:
                details.append({"dataset": self.dataset, "system": self.system, "attack": label, "recipe": recipe.name,
                                "task": recipe.task, "set": set_name, "qid": qid, "docno": docno,
                                "rank_before": rb, "rank_after": ra, "score_before": res_j["score_before"],
                                "score_after": res_j["score_after"], "edits": res_j["edits"],
                                "n_words": res_j["n_words"], "perturbation": res_j["edits"] / max(1, res_j["n_words"]),
                                "similarity": rec["similarity"], "target_queries": res_j["tried"],
                                "success": float(ra < rb), "boosted_ranks": float(rb - ra),
                                "top10": float(ra <= 10), "top50": float(ra <= 50),
                                "seconds": rec["seconds"]})  # fmt: skip
            if res_j["edits"]:
                documents.append({"docno": f"{docno}~{label}~{self.system}~{qid}", "text": res_j["attacked"],
                                  "perturbed_from": docno, "attack": label, "edits": res_j["edits"],
                                  "system": self.system, "qid": qid})  # fmt: skip
        return AttackOutcome(details, documents, seconds)


__all__ = ["AttackOutcome", "AttackState", "Attacker"]
