"""Synonym substitution from WordNet 3.0 or the counter-fitted neighbour table.

In the spirit of the paraphrase query variations of Penha, Câmara & Hauff (ECIR 2022: WordNet and
word-embedding synonym swaps) and the word-substitution perturbations in Wu et al. (TOIS 2022);
reimplemented for irrobust. Choices made here: stop words are never substituted; only single-word
synonyms are used (the word count stays the same); ``max(1, round(rate · #eligible))`` words change
per query; the synonym takes the original word's capitalisation; punctuation around the word is kept.

Example:
    >>> s = Synonyms(source="counterfitted", rate=1.0, seed=0)  # doctest: +SKIP
    >>> s.shift_query("risk of cancer", "1").query  # doctest: +SKIP
    'hazard of tumor'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from irrobust.errors import ConfigError
from irrobust.shifts.base import QueryShift, check_rate, n_to_pick
from irrobust.shifts.text import Rng, is_stop_word, match_case, split_token

SOURCES = ("wordnet", "counterfitted")
_WORD = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


def synonym_lookup(source: str, max_senses: int | None = None) -> Callable[[str], Sequence[str]]:
    """A function word → candidate synonyms for ``source`` (``"wordnet"`` or ``"counterfitted"``).

    Loads the resource now, so a missing WordNet or table raises here.

    Raises:
        IrrobustError: WordNet is not installed (with how to install it);
        DataError: the counter-fitted table is absent.

    Example:
        >>> "tumor" in synonym_lookup("counterfitted")("cancer")  # doctest: +SKIP
        True
    """
    if source == "wordnet":
        from irrobust.shifts.wordnet import load_wordnet, wordnet_synonyms

        load_wordnet()
        return lambda word: wordnet_synonyms(word, max_senses)
    if source == "counterfitted":
        from irrobust.data.synonyms import load_counterfitted

        table = load_counterfitted()

        def lookup(word: str) -> Sequence[str]:
            low = word.lower()
            return [n for n in table.get(low, []) if n != low and not is_stop_word(n)]

        return lookup
    raise ConfigError(f"unknown synonym source {source!r}; allowed: {', '.join(SOURCES)}", where="source")


class Synonyms(QueryShift):
    """Replace a share of the non-stop words that have synonyms by a listed synonym.

    Args:
        source: ``"wordnet"`` (WordNet 3.0 via NLTK, see :mod:`irrobust.shifts.wordnet`) or
            ``"counterfitted"`` (:func:`irrobust.data.synonyms.load_counterfitted`).
        rate: share of eligible words replaced (at least one per query when any is eligible).
        seed: RNG seed (per query: seed, ``"synonyms"``, qid).
        max_senses: WordNet only: take synonyms from the first ``max_senses`` senses (default all).
        name: label for the ``shift`` column.

    The resource is loaded on first use.

    Example:
        >>> Synonyms(source="counterfitted").params()["source"]
        'counterfitted'
    """

    kind = "synonyms"

    def __init__(
        self,
        source: str = "wordnet",
        rate: float = 0.25,
        seed: int = 0,
        max_senses: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(seed, name)
        if source not in SOURCES:
            raise ConfigError(f"unknown synonym source {source!r}; allowed: {', '.join(SOURCES)}", where="source")
        if max_senses is not None and (
            isinstance(max_senses, bool) or not isinstance(max_senses, int) or max_senses < 1
        ):
            raise ConfigError(f"max_senses must be a positive integer or null, got {max_senses!r}", where="max_senses")
        if max_senses is not None and source != "wordnet":
            raise ConfigError("max_senses applies to source 'wordnet' only", where="max_senses")
        self.source = source
        self.rate = check_rate(rate)
        self.max_senses = max_senses
        self._lookup: Callable[[str], Sequence[str]] | None = None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "rate": self.rate, "seed": self.seed}
        if self.max_senses is not None:
            out["max_senses"] = self.max_senses
        return out

    def synonyms(self, word: str) -> list[str]:
        """Candidate replacements for a word (empty for stop words and non-alphabetic words).

        Example:
            >>> Synonyms(source="counterfitted").synonyms("the")
            []
        """
        if is_stop_word(word) or not _WORD.fullmatch(word):
            return []
        if self._lookup is None:
            self._lookup = synonym_lookup(self.source, self.max_senses)
        return [s for s in self._lookup(word) if s.lower() != word.lower()]

    def apply(self, query: str, rng: Rng) -> tuple[str, str]:
        tokens = query.split()
        options: dict[int, list[str]] = {}
        for i, tok in enumerate(tokens):
            cands = self.synonyms(split_token(tok)[1])
            if cands:
                options[i] = cands
        if not options:
            return query, f"no non-stop word with a {self.source} synonym"
        for i in sorted(rng.sample(sorted(options), n_to_pick(self.rate, len(options)))):
            pre, core, post = split_token(tokens[i])
            tokens[i] = pre + match_case(core, rng.choice(options[i])) + post
        return " ".join(tokens), ""
