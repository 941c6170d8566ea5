"""Exact, deterministic top-K certificates for Lucene BM25 / QL under word substitution (beyond CertDR).

Not in the CertDR paper (which certifies smoothed neural rankers only). Lucene's BM25 is a sum over the
query's terms of a function that increases with the term's frequency and (for b > 0) does not increase with
the document's length, so the best an attacker can do with at most R substitutions is computable exactly:

1. Each whitespace token is analysed on its own (the English analyzer acts on whitespace tokens
   independently; :mod:`irrobust.rankers.lucene_scoring`). Substituting token i by a synonym s ∈ S_w (the
   attacker's set of :class:`~irrobust.certify.perturb.PerturbationSets`) changes the query-term frequencies
   by Δtf and the analysed length by Δlen (stop words and multi-token words change the length).
2. Per token, only Pareto-optimal options (no other option with ≥ Δtf for every term and ≤ Δlen) can be
   part of an optimum, and an option no better than "keep" is dropped. Tokens whose options change only the
   length form a pool (for a given number of remaining substitutions, the largest length reductions are best).
3. A dynamic program over the remaining tokens keeps the Pareto set of reachable (Δtf, Δlen, substitutions)
   states; every state is completed with the best length reductions the remaining budget allows and scored
   with Lucene's float32 formula (:func:`~irrobust.rankers.lucene_scoring.bm25_scores`). The maximum is the
   exact best score (monotonicity makes dominated states irrelevant).

If the Pareto set exceeds ``max_states`` the DP is replaced by a sound relaxation (each query term's
frequency gain and the length reduction maximised independently), flagged ``exact=False``.

Certificate at K (attacker edits one document below K, as in CertDR): certified iff the K-th best clean
score is strictly greater than the best reachable score of every document ranked below K.

**Threat model — what the certificate does and does not cover.** It is exact (no probability) for this model:

* **Frozen collection statistics.** N, every document frequency df and the average length avgdl are those of
  the unattacked index (:class:`~irrobust.rankers.lucene_scoring.LuceneStats`), i.e. the attacked document is
  scored against the index as built, not re-indexed. If the collection were re-indexed after the edit, df of a
  query term the attacked document gains (loses) would rise (fall) by 1 and avgdl would move by Δlen / N,
  changing the scores of *every* document, the top K included; that is not bounded here (it is by
  :mod:`irrobust.certify.exact_reindexed`).
* **Only the candidate list.** Only documents of the list (the system's top ``depth``) are attacked; a
  document below the list's depth that an attack would lift into the top K is not considered.
* **Unseen terms score nothing.** A query term absent from the index (df = 0) is ignored (Lucene gives it no
  weight), so an attack that adds such a term to a document gains nothing here, although a re-indexed
  collection would give it df = 1 and the largest idf of all (also covered by :mod:`irrobust.certify.exact_reindexed`).
* Substitutions are the attacker's sets S_w of :class:`~irrobust.certify.perturb.PerturbationSets` on whitespace
  tokens (core word replaced, punctuation and capitalisation kept), at most R of them, in one document.

Example:
    >>> best = max_score_under_attack(scorer, sets, "vitamin d", text, budget=3)   # doctest: +SKIP
    >>> best.score >= scorer.score_texts("vitamin d", [text])[0]                   # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from irrobust.certify.perturb import PerturbationSets, split_token
from irrobust.errors import ConfigError


@dataclass(frozen=True)
class AttackBound:
    """The best score reachable by ≤ R substitutions, and how it was computed.

    Attributes:
        clean: the unattacked score; score: the best reachable score; exact: False for the relaxation;
        states: size of the final Pareto set; changed: the substitutions of one optimum (token index → word).

    Example:
        >>> AttackBound(1.0, 2.0, True, 3, {}).gain
        1.0
    """

    clean: float
    score: float
    exact: bool
    states: int
    changed: dict[int, str]

    @property
    def gain(self) -> float:
        """score − clean."""
        return self.score - self.clean


def _options(scorer: object, sets: PerturbationSets, tokens: Sequence[str], terms: list[str]
             ) -> tuple[np.ndarray, int, list[tuple[int, list[tuple[np.ndarray, int, str]]]]]:  # fmt: skip
    """Base tf, base length and, per substitutable token, its (Δtf, Δlen, word) options."""
    stats = scorer.stats  # type: ignore[attr-defined]
    col = {t: j for j, t in enumerate(terms) if stats.df(t) > 0}  # unindexed terms never score
    cand: list[tuple[int, list[str]]] = []
    strings: dict[str, None] = dict.fromkeys(tokens)
    for i, tok in enumerate(tokens):
        syn = sets.synonyms(split_token(tok)[1])
        if syn:
            alts = [sets.token_text(tok, sets.word_id(s)) for s in syn]
            cand.append((i, list(syn)))
            strings.update(dict.fromkeys(alts))
    keys = list(strings)
    analysed = dict(zip(keys, stats.analyze_many(keys), strict=True))

    def effect(s: str) -> tuple[np.ndarray, int]:
        v = np.zeros(len(terms), dtype=np.int64)
        for t in analysed[s]:
            j = col.get(t)
            if j is not None:
                v[j] += 1
        return v, len(analysed[s])

    base_tf = np.zeros(len(terms), dtype=np.int64)
    base_len = 0
    eff = [effect(t) for t in tokens]
    for v, n in eff:
        base_tf += v
        base_len += n
    out = []
    for i, syn in cand:
        v0, n0 = eff[i]
        opts = []
        for s in syn:
            v, n = effect(sets.token_text(tokens[i], sets.word_id(s)))
            dv, dn = v - v0, n - n0
            if (dv <= 0).all() and dn >= 0:
                continue  # never better than keeping the token
            opts.append((dv, dn, s))
        pareto = [o for o in opts if not any(_dominates(p, o) and (p[0] != o[0]).any() | (p[1] != o[1]) for p in opts)]
        uniq: dict[tuple[tuple[int, ...], int], tuple[np.ndarray, int, str]] = {}
        for o in pareto:
            uniq.setdefault((tuple(o[0].tolist()), o[1]), o)
        if uniq:
            out.append((i, list(uniq.values())))
    return base_tf, base_len, out


def _dominates(a: tuple[np.ndarray, int, str], b: tuple[np.ndarray, int, str]) -> bool:
    return bool((a[0] >= b[0]).all() and a[1] <= b[1])


def _prune(states: dict[tuple[tuple[int, ...], int, int], dict[int, str]]) -> dict:
    """Keep the Pareto set (max tf, min length, min substitutions); vectorised dominance checks."""
    keys = list(states)
    if len(keys) <= 1:
        return states
    # "larger is better" in every column: tf..., -length, -substitutions
    arr = np.array([[*k[0], -k[1], -k[2]] for k in keys], dtype=np.int64)
    order = np.lexsort(arr.T[::-1] * -1)  # lexicographically best first: never dominated by a later row
    kept: list[int] = []
    kept_arr = np.zeros((0, arr.shape[1]), dtype=np.int64)
    for r in order:
        row = arr[r]
        if len(kept) and (kept_arr >= row).all(axis=1).any():
            continue
        kept.append(int(r))
        kept_arr = np.vstack([kept_arr, row])
    return {keys[r]: states[keys[r]] for r in kept}


def max_score_under_attack(
    scorer: object,
    sets: PerturbationSets,
    query: str,
    text: str,
    budget: int | None = None,
    max_states: int = 3_000,
    model: str = "bm25",
) -> AttackBound:
    """The exact best Lucene score of ``text`` for ``query`` after at most ``budget`` substitutions (None = any number).

    ``scorer`` is a :class:`~irrobust.rankers.lucene_scoring.LuceneScorer` (its k1, b); only ``model="bm25"``
    is supported (the DP relies on the score not increasing with the document length).

    Example:
        >>> max_score_under_attack(scorer, sets, "cancer risk", "the tumour risk", budget=1).score   # doctest: +SKIP
    """
    from irrobust.rankers.lucene_scoring import encode_lengths, query_terms

    if budget is not None and budget < 0:
        raise ConfigError(f"the budget R must be >= 0, got {budget}", where="certify.budget")
    if model != "bm25":
        raise ConfigError("exact certificates are implemented for BM25 only", where="certify.exact.model")
    tokens = text.split()
    terms, boosts = query_terms(scorer.stats, query)  # type: ignore[attr-defined]
    params = scorer.resolve(model, {})  # type: ignore[attr-defined]

    def score(tf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        return scorer.score_counts(query, tf, encode_lengths(np.maximum(lengths, 0)), terms, boosts, params)  # type: ignore[attr-defined]

    base_tf, base_len, opts = _options(scorer, sets, tokens, terms)
    clean = float(score(base_tf[None, :], np.array([base_len]))[0])
    r_max = len(tokens) if budget is None else int(budget)
    pool = sorted(
        (min(o[1] for o in op), i, min(op, key=lambda o: o[1])[2])
        for i, op in opts
        if all((o[0] == 0).all() for o in op)
    )
    pool = [p for p in pool if p[0] < 0]
    pool_ids = {p[1] for p in pool}
    mixed = [(i, op) for i, op in opts if i not in pool_ids]
    zero = tuple([0] * len(terms))
    states: dict[tuple[tuple[int, ...], int, int], dict[int, str]] = {(zero, 0, 0): {}}
    exact = True
    for i, op in mixed:
        new = dict(states)
        for (tf, dl, used), ch in states.items():
            if used >= r_max:
                continue
            for dv, dn, w in op:
                key = (tuple((np.array(tf) + dv).tolist()), dl + dn, used + 1)
                if key not in new:
                    new[key] = {**ch, i: w}
        states = _prune(new)
        if len(states) > max_states:
            exact = False
            break
    if not exact:  # sound relaxation: every gain taken independently
        gain = np.zeros(len(terms), dtype=np.int64)
        dl_gain = 0
        for _, op in opts:
            gain += np.max([np.maximum(o[0], 0) for o in op], axis=0)
            dl_gain += min(0, min(o[1] for o in op))
        tf = base_tf + gain
        best = float(score(tf[None, :], np.array([base_len + dl_gain]))[0])
        return AttackBound(clean, max(best, clean), False, len(states), {})
    cum = np.concatenate([[0], np.cumsum([p[0] for p in pool])])
    keys = list(states)
    tf = np.array([base_tf + np.array(k[0]) for k in keys], dtype=np.int64).reshape(len(keys), len(terms))
    extra = np.array([min(len(pool), max(r_max - k[2], 0)) for k in keys], dtype=np.int64)
    lengths = np.array([base_len + k[1] for k in keys], dtype=np.int64) + cum[extra]
    scores = score(tf, lengths)
    b = int(np.argmax(scores))
    changed = dict(states[keys[b]])
    changed.update({p[1]: p[2] for p in pool[: extra[b]]})
    return AttackBound(clean, max(float(scores[b]), clean), True, len(states), changed)


def apply_changes(sets: PerturbationSets, text: str, changed: dict[int, str]) -> str:
    """The attacked text of an :class:`AttackBound` (tokens joined by single spaces).

    Example:
        >>> sets = PerturbationSets({"big": ["large"]}, min_freq=0, graph="union")
        >>> apply_changes(sets, "a big dog", {1: "large"})
        'a large dog'
    """
    tokens = text.split()
    for i, w in changed.items():
        tokens[i] = sets.token_text(tokens[i], sets.word_id(w))
    return " ".join(tokens)


def certify_exact(clean: np.ndarray, best: np.ndarray, ks: Sequence[int]) -> dict[int, bool]:
    """Deterministic top-K certificate from clean scores and best attacked scores of a ranked list.

    Certified at K iff the K-th best clean score is strictly above every lower document's best attacked score.

    Example:
        >>> certify_exact(np.array([5.0, 3.0, 1.0]), np.array([5.5, 4.0, 2.0]), ks=[1, 2])
        {1: True, 2: True}
    """
    clean = np.asarray(clean, dtype=np.float64)
    o = np.argsort(-clean, kind="stable")
    cs, bs = clean[o], np.asarray(best, dtype=np.float64)[o]
    hi = np.maximum.accumulate(bs[::-1])[::-1]
    return {int(k): bool(cs[k - 1] > hi[k]) for k in ks if k < len(cs)}


__all__ = ["AttackBound", "apply_changes", "certify_exact", "max_score_under_attack"]
