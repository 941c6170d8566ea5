"""The transformation of a ranking attack: a document as substitutable words, and synonym swaps.

Part of the goal + constraints + transformation + search decomposition (see :mod:`irrobust.attacks.goal`).
:class:`WordDoc` splits a text into substitutable words (ASCII letters) and the text between them, so an edit
set ``{word index: new word}`` renders back to text with the rest untouched; substitutions keep the original
capitalisation (:func:`match_case`). :class:`SynonymSwap` proposes a word's neighbours in a synonym table.

Example:
    >>> doc = WordDoc("Vitamin D lowers risk.")
    >>> doc.render({2: "reduces"})
    'Vitamin D reduces risk.'
"""

from __future__ import annotations

import re

#: a substitutable word: a run of ASCII letters
WORD_PATTERN = re.compile(r"([A-Za-z]+)")
_ANYWORD = re.compile(r"\w+")


class WordDoc:
    """A text split into substitutable words (runs of ASCII letters) and the text between them.

    ``n_words`` counts every ``\\w+`` token (numbers included): the denominator of the perturbation share.

    Example:
        >>> d = WordDoc("IL-6 levels rose.")
        >>> d.words, d.n_words
        (['IL', 'levels', 'rose'], 4)
        >>> WordDoc("rs2228145 allele").standalone
        [False, True]
        >>> d.render({0: "il", 2: "Increased"})
        'IL-6 levels increased.'
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.parts = WORD_PATTERN.split(text)  # even: separators, odd: words
        self.words = self.parts[1::2]
        self.n_words = len(_ANYWORD.findall(text))
        spans, pos = [], 0
        for i, part in enumerate(self.parts):
            if i % 2:
                spans.append((pos, pos + len(part)))
            pos += len(part)
        self.spans: list[tuple[int, int]] = spans
        #: the word is a whole token (no letter, digit or "_" glued to it, unlike "rs" in "rs2228145")
        self.standalone: list[bool] = [(s == 0 or not _glued(text[s - 1])) and (e == len(text) or not _glued(text[e]))
                                       for s, e in spans]  # fmt: skip

    def render(self, edits: dict[int, str]) -> str:
        """The text with ``edits`` (word index → new word) applied, keeping each word's capitalisation.

        Example:
            >>> WordDoc("The Risk").render({1: "hazard"})
            'The Hazard'
        """
        if not edits:
            return self.text
        parts = list(self.parts)
        for i, new in edits.items():
            parts[2 * i + 1] = match_case(self.words[i], new)
        return "".join(parts)


def _glued(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def match_case(original: str, new: str) -> str:
    """``new`` with the capitalisation pattern of ``original`` (upper, title, or lower).

    Example:
        >>> match_case("DNA", "rna"), match_case("Risk", "hazard"), match_case("risk", "Hazard")
        ('RNA', 'Hazard', 'hazard')
    """
    from irrobust.shifts.text import match_case as shift_match_case

    return shift_match_case(original, new.lower())  # the query shifts' rule, on the lower-cased candidate


class SynonymSwap:
    """Transformation: replace a word by one of its neighbours in a synonym table (lower-cased lookup).

    Example:
        >>> SynonymSwap({"risk": ["hazard", "peril"]}).candidates("Risk")
        ['hazard', 'peril']
    """

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def candidates(self, word: str) -> list[str]:
        """Neighbours of ``word`` (excluding itself), in table order (nearest first).

        Example:
            >>> SynonymSwap({"a": ["a", "b"]}).candidates("a")
            ['b']
        """
        low = word.lower()
        return [w for w in self.table.get(low, []) if w != low]
