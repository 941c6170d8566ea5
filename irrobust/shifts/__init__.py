"""Query shifts (task 2 of the robustness study): seeded stages producing one variant per query.

Every shift is a :class:`~irrobust.core.transformer.Transformer` over a queries table
``qid, query`` that returns ``qid, query, variant_of, shift, changed, fallback`` (see
:mod:`irrobust.shifts.base`). Build them directly or by name with :func:`make_shift`.

Example:
    >>> from irrobust.shifts import make_shift
    >>> out = make_shift("keywordize")(["What is the effect of X on Y?"])
    >>> out[["qid", "query", "variant_of", "shift", "changed"]].values.tolist()
    [['1', 'effect X Y', '1', 'keywordize', True]]
"""

from irrobust.shifts.base import QueryShift, ShiftResult, ShiftStats, change_summary
from irrobust.shifts.mixed import Mixed
from irrobust.shifts.registry import SHIFTS, make_shift, shift_from_spec, shift_params
from irrobust.shifts.structural import DropWords, Keywordize, Reorder
from irrobust.shifts.synonyms import Synonyms
from irrobust.shifts.typos import Typos

__all__ = [
    "SHIFTS",
    "DropWords",
    "Keywordize",
    "Mixed",
    "QueryShift",
    "Reorder",
    "ShiftResult",
    "ShiftStats",
    "Synonyms",
    "Typos",
    "change_summary",
    "make_shift",
    "shift_from_spec",
    "shift_params",
]
