"""Word-level shifts that keep the words' spelling: reorder, drop words, keywordize.

Reimplemented for irrobust after the word-order and naturality query variations of Penha, Câmara &
Hauff (ECIR 2022); the query-variation task of Wu et al. (TOIS 2022) motivates them.

Example:
    >>> Keywordize().shift_query("What is the effect of X on Y?").query
    'effect X Y'
"""

from __future__ import annotations

from typing import Any

from irrobust.shifts.base import QueryShift, check_rate, n_to_pick
from irrobust.shifts.text import Rng, detach_final_punctuation, is_content_word, is_stop_word, split_token


class Reorder(QueryShift):
    """Shuffle the word order; the result always differs when the query has ≥ 2 distinct words.

    Tokens move with the punctuation attached to them, except sentence-final ``.?!``, which stays at
    the end; punctuation-only tokens (``&``) keep their positions. If the shuffle reproduces the original order, the words are rotated by one position
    instead (a rotation equals the original only when all words are equal).

    Example:
        >>> Reorder(seed=0).shift_query("red blood cells.", "q1").query.endswith(".")
        True
    """

    kind = "reorder"

    def __init__(self, seed: int = 0, name: str | None = None) -> None:
        super().__init__(seed, name)

    def apply(self, query: str, rng: Rng) -> tuple[str, str]:
        tokens, final = detach_final_punctuation(query.split())
        slots = [i for i, t in enumerate(tokens) if split_token(t)[1]]  # punctuation-only tokens stay put
        key = [split_token(tokens[i])[1] for i in slots]
        if len(set(key)) < 2:
            return query, "fewer than 2 distinct words"
        order = rng.shuffled(range(len(slots)))
        if [key[i] for i in order] == key:
            order = order[1:] + order[:1]
        out = list(tokens)
        for slot, src in zip(slots, order, strict=True):
            out[slot] = tokens[slots[src]]
        return " ".join(out) + final, ""


class DropWords(QueryShift):
    """Drop ``max(1, round(rate · #words))`` words, never all, keeping at least one content word.

    One content (non-stop) word is drawn first and protected; the words to drop are drawn from the
    rest. Punctuation-only tokens are not words and stay; sentence-final punctuation stays at the end.

    Args:
        rate: share of the words to drop (at least one; at most all but one).
        seed: RNG seed (per query: seed, ``"drop"``, qid).
        name: label for the ``shift`` column.

    Example:
        >>> DropWords(rate=0.5, seed=0).shift_query("red blood cells feed", "1").query.count(" ")
        1
    """

    kind = "drop"

    def __init__(self, rate: float = 0.25, seed: int = 0, name: str | None = None) -> None:
        super().__init__(seed, name)
        self.rate = check_rate(rate)

    def params(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": self.seed}

    def apply(self, query: str, rng: Rng) -> tuple[str, str]:
        tokens, final = detach_final_punctuation(query.split())
        word_idx = [i for i, t in enumerate(tokens) if split_token(t)[1]]
        if len(word_idx) < 2:
            return query, "fewer than 2 words"
        content = [i for i in word_idx if is_content_word(tokens[i])]
        keep = rng.choice(content) if content else rng.choice(word_idx)
        candidates = [i for i in word_idx if i != keep]
        drop = set(rng.sample(candidates, min(len(candidates), n_to_pick(self.rate, len(word_idx)))))
        return " ".join(t for i, t in enumerate(tokens) if i not in drop) + final, ""


class Keywordize(QueryShift):
    """Turn a natural-language query into a keyword query: remove stop/function words and punctuation.

    Punctuation around each kept word is stripped (inner hyphens and apostrophes stay) and a possessive
    ``'s`` is removed. A query made only of stop words is left as it is (``fallback="only stop words"``).
    Deterministic; ``seed`` is accepted for a uniform interface and has no effect.

    Example:
        >>> Keywordize().shift_query("How does the body's immune system respond?").query
        'body immune system respond'
    """

    kind = "keywordize"

    def __init__(self, seed: int = 0, name: str | None = None) -> None:
        super().__init__(seed, name)

    def apply(self, query: str, rng: Rng) -> tuple[str, str]:
        kept = []
        for tok in query.split():
            core = split_token(tok)[1]
            if not core or is_stop_word(core):
                continue
            if core.lower().endswith(("'s", "\u2019s")) and len(core) > 2:
                core = core[:-2]
            kept.append(core)
        if not kept:
            return query, "only stop words"
        if not any(is_stop_word(c) for c in (split_token(t)[1] for t in query.split()) if c):
            return query, "no stop words"
        return " ".join(kept), ""
