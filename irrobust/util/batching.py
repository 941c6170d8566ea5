"""Token-budget batching: inputs sorted by length and cut into batches whose padded size fits a budget.

One helper for every neural scorer (the cross-encoder :mod:`irrobust.rankers.scoring`, KNRM
:mod:`irrobust.rankers.knrm`, the dense encoder :mod:`irrobust.index.dense`): sort the inputs by token length
(longest first, ties in input order), then take as many as fit ``batch size × longest length <= token_budget``
(at most ``max_batch``). Batches of similar lengths carry almost no padding, and a budget in tokens keeps the memory of
one forward pass bounded whatever the lengths. Callers write each batch's outputs back at its indices, so results
come back in the caller's order.

Example:
    >>> [b.tolist() for b in plan_batches([3, 10, 4, 9], token_budget=20, max_batch=8)]
    [[1, 3], [2, 0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def plan_batches(lengths: Sequence[int] | np.ndarray, token_budget: int, max_batch: int) -> list[np.ndarray]:
    """Sort sequences by length (longest first, stable) and cut them into batches with
    ``size × max_len <= token_budget`` and ``size <= max_batch`` (a sequence longer than the budget is a batch alone).

    Returns index arrays into ``lengths``; every index appears exactly once. With ``token_budget >= max_batch ×
    (longest length)`` the batches are fixed-size chunks of the length order (``max_batch`` each).

    Example:
        >>> [b.tolist() for b in plan_batches(np.array([3, 10, 4, 9]), token_budget=20, max_batch=8)]
        [[1, 3], [2, 0]]
        >>> [b.tolist() for b in plan_batches([5, 5, 5], token_budget=100, max_batch=2)]
        [[0, 1], [2]]
    """
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable")
    out: list[np.ndarray] = []
    start = 0
    n = len(order)
    while start < n:
        longest = int(lengths[order[start]])
        size = max(1, min(max_batch, token_budget // max(1, longest)))
        out.append(order[start : start + size])
        start += size
    return out


__all__ = ["plan_batches"]
