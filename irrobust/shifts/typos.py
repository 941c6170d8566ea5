"""Character-level typos: insert, delete, swap, QWERTY-neighbour substitution.

In the spirit of the misspelling query variations of Penha, Câmara & Hauff ("Evaluating the
Robustness of Retrieval Pipelines with Query Variation Generators", ECIR 2022) and the
character-level perturbations studied by Wu et al. ("Are Neural Ranking Models Robust?", TOIS 2022);
reimplemented for irrobust. Details chosen here (not from either paper): one edit per chosen word,
``max(1, round(rate · #eligible))`` words per query, insertions type a keyboard neighbour of the
adjacent letter.

Example:
    >>> t = Typos(rate=1.0, seed=0)
    >>> r = t.shift_query("Breast cancer cells feed on cholesterol", "q1")
    >>> len(r.query.split()) == 6 and r.changed
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from irrobust.errors import ConfigError
from irrobust.shifts.base import QueryShift, check_rate, n_to_pick
from irrobust.shifts.text import Rng, keyboard_neighbours, split_token

TYPO_OPS = ("insert", "delete", "swap", "substitute")


def typo_word(word: str, op: str, rng: Rng) -> str:
    """Apply one typo of kind ``op`` to an alphabetic word (≥ 2 letters); the result always differs.

    * ``insert``: type a keyboard neighbour of the letter before (or, at the start, after) the gap;
    * ``delete``: drop one letter;
    * ``swap``: transpose two adjacent, different letters (falls back to ``substitute`` if all letters are equal);
    * ``substitute``: replace a letter by a keyboard neighbour.

    Example:
        >>> typo_word("cell", "delete", Rng(0)) in {"ell", "cll", "cel"}
        True
        >>> typo_word("ab", "swap", Rng(0))
        'ba'
    """
    if op == "swap":
        spots = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
        if not spots:
            op = "substitute"
        else:
            i = rng.choice(spots)
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "delete":
        i = rng.below(len(word))
        return word[:i] + word[i + 1 :]
    if op == "insert":
        i = rng.below(len(word) + 1)
        anchor = word[i - 1] if i > 0 else word[0]
        near = keyboard_neighbours(anchor) or anchor
        ch = rng.choice(near)
        if not word.isupper():
            ch = ch.lower()
        return word[:i] + ch + word[i:]
    if op == "substitute":
        spots = [i for i, ch in enumerate(word) if keyboard_neighbours(ch)]
        if not spots:  # no ASCII letter: delete instead (the word has ≥ 2 letters)
            return typo_word(word, "delete", rng)
        i = rng.choice(spots)
        return word[:i] + rng.choice(keyboard_neighbours(word[i])) + word[i + 1 :]
    raise ConfigError(f"unknown typo operation {op!r}; allowed: {', '.join(TYPO_OPS)}", where="ops")


class Typos(QueryShift):
    """Typos in a share of the eligible words (alphabetic, ≥ ``min_len`` letters); word count unchanged.

    Args:
        rate: share of eligible words that get one typo (at least one word per query when any is eligible).
        seed: RNG seed (per query: seed, ``"typos"``, qid).
        min_len: shortest word that may get a typo.
        ops: the typo kinds to draw from, uniformly.
        name: label for the ``shift`` column.

    Only the letters of a word's core change: punctuation around it and the spaces between words
    are never touched, so the variant has the same whitespace-separated words count.

    Example:
        >>> Typos(rate=0.5, seed=0, min_len=3, ops=["swap"]).shift_query("a big dog", "1").query
        'a big odg'
    """

    kind = "typos"

    def __init__(
        self,
        rate: float = 0.25,
        seed: int = 0,
        min_len: int = 4,
        ops: Iterable[str] = TYPO_OPS,
        name: str | None = None,
    ) -> None:
        super().__init__(seed, name)
        self.rate = check_rate(rate)
        if isinstance(min_len, bool) or not isinstance(min_len, int) or min_len < 2:
            raise ConfigError(f"min_len must be an integer ≥ 2, got {min_len!r}", where="min_len")
        self.min_len = min_len
        ops = [ops] if isinstance(ops, str) else list(ops)
        bad = [o for o in ops if o not in TYPO_OPS]
        if bad or not ops:
            raise ConfigError(f"ops must be a non-empty subset of {list(TYPO_OPS)}, got {ops!r}", where="ops")
        self.ops = tuple(dict.fromkeys(ops))

    def params(self) -> dict[str, Any]:
        return {"rate": self.rate, "seed": self.seed, "min_len": self.min_len, "ops": list(self.ops)}

    def eligible(self, tokens: list[str]) -> list[int]:
        """Indices of tokens whose core is alphabetic and at least ``min_len`` letters long.

        Example:
            >>> Typos().eligible(["the", "cells", "(PrP)", "COVID-19"])
            [1]
        """
        out = []
        for i, tok in enumerate(tokens):
            core = split_token(tok)[1]
            if core.isalpha() and len(core) >= self.min_len:
                out.append(i)
        return out

    def apply(self, query: str, rng: Rng) -> tuple[str, str]:
        tokens = query.split()
        eligible = self.eligible(tokens)
        if not eligible:
            return query, f"no word of ≥ {self.min_len} letters"
        for i in sorted(rng.sample(eligible, n_to_pick(self.rate, len(eligible)))):
            pre, core, post = split_token(tokens[i])
            tokens[i] = pre + typo_word(core, rng.choice(self.ops), rng) + post
        return " ".join(tokens), ""
