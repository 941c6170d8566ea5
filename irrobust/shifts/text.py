"""Word-level helpers shared by the query shifts: tokens, stop words, a QWERTY keyboard map, a stable RNG.

A query is split on whitespace into *tokens*; a token is ``prefix + core + suffix`` where the core
runs from the first to the last letter or digit (``"(PrP)"`` → ``"(" "PrP" ")"``). A *word* is a token
with a non-empty core. Two queries are "the same" for a shift when their word cores are equal
(:func:`words`), so a shift that only moved punctuation or whitespace counts as no change.

Example:
    >>> split_token("(PrP),")
    ('(', 'PrP', '),')
    >>> words("What is the effect of X on Y?")
    ['What', 'is', 'the', 'effect', 'of', 'X', 'on', 'Y']
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

#: English stop words and function words (articles, pronouns, prepositions, conjunctions, auxiliaries,
#: question words, negations, quantifiers). Written for irrobust; compared in lower case.
_STOP_WORDS_TEXT = """
    a about above across after afterwards again against all almost also although always am among amongst an and
    another any anyone anything anyway anywhere are aren't around as at be became because become becomes been
    before being below beside besides between beyond both but by can cannot can't could couldn't did didn't do
    does doesn't doing don't done down during each either else enough etc even ever every everyone everything
    few for from further had hadn't has hasn't have haven't having he he'd he'll he's hence her here here's hers
    herself him himself his how how's however i i'd i'll i'm i've ie if in indeed into is isn't it it's its itself
    just least less let let's many may maybe me might mine more moreover most mostly much must mustn't my myself
    neither never nevertheless no nobody none nor not nothing now of off often on once one's only onto or other
    others otherwise ought our ours ourselves out over own per perhaps rather same shall shan't she she'd she'll
    she's should shouldn't since so some somehow someone something sometimes somewhat still such than that that's
    the their theirs them themselves then there there's thereby therefore these they they'd they'll they're
    they've this those though through throughout thus to together too toward towards under unless until up upon us
    very via vs versus was wasn't we we'd we'll we're we've were weren't what what's whatever when when's whenever
    where where's whereas wherever whether which while who who's whoever whom whose why why's will with within
    without won't would wouldn't yet you you'd you'll you're you've your yours yourself yourselves
"""
#: The stop words as a set (see above).
STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

_FINAL_PUNCT = set(".?!…")


def split_token(token: str) -> tuple[str, str, str]:
    """Split a whitespace token into (prefix, core, suffix) around its first and last letter/digit.

    A token without any letter or digit has an empty core and is all prefix.

    Example:
        >>> split_token("Y?")
        ('', 'Y', '?')
        >>> split_token("--")
        ('--', '', '')
    """
    idx = [i for i, ch in enumerate(token) if ch.isalnum()]
    if not idx:
        return token, "", ""
    return token[: idx[0]], token[idx[0] : idx[-1] + 1], token[idx[-1] + 1 :]


def words(query: str) -> list[str]:
    """The word cores of a query, in order (punctuation-only tokens left out).

    Example:
        >>> words("0-dimensional biomaterials lack inductive properties.")
        ['0-dimensional', 'biomaterials', 'lack', 'inductive', 'properties']
    """
    return [core for core in (split_token(t)[1] for t in query.split()) if core]


def normalize_word(core: str) -> str:
    """Lower-case a word core and strip a possessive ``'s`` (for stop-word and synonym lookups).

    Example:
        >>> normalize_word("Alzheimer's")
        'alzheimer'
    """
    low = core.lower().replace("\u2019", "'")
    if low.endswith("'s") and len(low) > 2 and low not in STOP_WORDS:
        low = low[:-2]
    return low


def is_stop_word(core: str) -> bool:
    """True when the word core is a stop/function word.

    Example:
        >>> is_stop_word("The"), is_stop_word("effect")
        (True, False)
    """
    return core.lower().replace("\u2019", "'") in STOP_WORDS or normalize_word(core) in STOP_WORDS


def is_content_word(token: str) -> bool:
    """True when a token has a core that is not a stop word.

    Example:
        >>> is_content_word("effect,"), is_content_word("of"), is_content_word("?")
        (True, False, False)
    """
    core = split_token(token)[1]
    return bool(core) and not is_stop_word(core)


def detach_final_punctuation(tokens: list[str]) -> tuple[list[str], str]:
    """Detach sentence-final punctuation (``.?!…``) from the last token so it can stay at the end.

    Example:
        >>> detach_final_punctuation(["cells", "feed?"])
        (['cells', 'feed'], '?')
        >>> detach_final_punctuation(["lupus", "(SLE)."])
        (['lupus', '(SLE)'], '.')
    """
    if not tokens:
        return tokens, ""
    last = tokens[-1]
    if not split_token(last)[1]:
        return list(tokens), ""
    body = last.rstrip("".join(_FINAL_PUNCT))
    if body == last or not split_token(body)[1]:
        return list(tokens), ""
    return [*tokens[:-1], body], last[len(body) :]


def match_case(original: str, replacement: str) -> str:
    """Give ``replacement`` the capitalisation pattern of ``original`` (UPPER, Title or as is).

    Example:
        >>> match_case("Risk", "hazard"), match_case("DNA", "dna"), match_case("risk", "hazard")
        ('Hazard', 'DNA', 'hazard')
    """
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_OFFSETS = (0.0, 0.25, 0.75)  # horizontal stagger of the rows on a standard keyboard


def _qwerty_neighbours() -> dict[str, str]:
    pos = {ch: (r, c + _OFFSETS[r]) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    out: dict[str, str] = {}
    for ch, (r, x) in pos.items():
        near = []
        for other, (r2, x2) in pos.items():
            if other == ch:
                continue
            if (r2 == r and abs(x2 - x) == 1.0) or (abs(r2 - r) == 1 and abs(x2 - x) < 1.0):
                near.append(other)
        out[ch] = "".join(sorted(near))
    return out


#: Lower-case letter → the letters on adjacent keys of a QWERTY keyboard.
QWERTY_NEIGHBOURS: dict[str, str] = _qwerty_neighbours()


def keyboard_neighbours(ch: str) -> str:
    """Letters next to ``ch`` on a QWERTY keyboard, in ``ch``'s case ('' for non-letters).

    Example:
        >>> keyboard_neighbours("s"), keyboard_neighbours("G")
        ('adewxz', 'BFHTVY')
    """
    near = QWERTY_NEIGHBOURS.get(ch.lower(), "")
    return near.upper() if ch.isupper() else near


class Rng:
    """A small RNG whose stream depends only on its key, stable across Python versions.

    The key is hashed with SHA-256 into the seed of :class:`random.Random`; only ``random()``
    is used (its sequence is guaranteed stable for a given seed), so ``below``, ``choice``,
    ``shuffled`` and ``sample`` are reimplemented on top of it.

    Example:
        >>> Rng(0, "typos", "q1").sample(range(10), 3) == Rng(0, "typos", "q1").sample(range(10), 3)
        True
    """

    def __init__(self, *key: object) -> None:
        digest = hashlib.sha256("\x1f".join(map(str, key)).encode("utf-8")).digest()
        self._r = random.Random(int.from_bytes(digest[:16], "big"))

    def random(self) -> float:
        """A float in [0, 1).

        Example:
            >>> 0.0 <= Rng("k").random() < 1.0
            True
        """
        return self._r.random()

    def below(self, n: int) -> int:
        """An integer in ``range(n)`` (``n`` ≥ 1).

        Example:
            >>> Rng("k").below(1)
            0
        """
        return min(int(self._r.random() * n), n - 1)

    def choice(self, seq: Sequence[T]) -> T:
        """One element of a non-empty sequence.

        Example:
            >>> Rng("k").choice(["only"])
            'only'
        """
        return seq[self.below(len(seq))]

    def shuffled(self, seq: Sequence[T]) -> list[T]:
        """A shuffled copy (Fisher–Yates).

        Example:
            >>> sorted(Rng("k").shuffled([3, 1, 2]))
            [1, 2, 3]
        """
        out = list(seq)
        for i in range(len(out) - 1, 0, -1):
            j = self.below(i + 1)
            out[i], out[j] = out[j], out[i]
        return out

    def sample(self, seq: Sequence[T], k: int) -> list[T]:
        """``k`` distinct positions' elements, in random order (partial Fisher–Yates).

        Example:
            >>> len(set(Rng("k").sample(range(5), 5)))
            5
        """
        pool = list(seq)
        k = max(0, min(k, len(pool)))
        for i in range(k):
            j = i + self.below(len(pool) - i)
            pool[i], pool[j] = pool[j], pool[i]
        return pool[:k]
