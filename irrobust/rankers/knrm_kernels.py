"""KNRM's kernels and padding, shared by the model (:mod:`irrobust.rankers.knrm`), its white box
(:mod:`irrobust.rankers.white_box`) and its fast smoothed path (:mod:`irrobust.rankers.knrm_samples`).

K = 11 RBF kernels (Xiong et al., SIGIR 2017): one exact-match kernel (μ = 1.0, σ = 1e-3) and ten soft-match kernels
(μ = 0.9, 0.7, …, -0.9, σ = 0.1); soft-TF features are scaled by :data:`FEATURE_SCALE`.

Example:
    >>> len(MUS) == len(SIGMAS) == 11
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np

MUS = (1.0, 0.9, 0.7, 0.5, 0.3, 0.1, -0.1, -0.3, -0.5, -0.7, -0.9)
SIGMAS = (1e-3,) + (0.1,) * 10
#: soft-TF features are scaled by 0.01 so that tanh(wᵀφ + b) does not saturate at initialisation
FEATURE_SCALE = 0.01


def pad_ids(seqs: list[list[int]]) -> tuple[Any, Any]:
    """Right-padded ``(ids, mask)`` torch tensors (int64, float32) of token-id lists.

    Example:
        >>> ids, mask = pad_ids([[5, 6], [7]])     # doctest: +SKIP
        >>> mask.tolist()                          # doctest: +SKIP
        [[1.0, 1.0], [1.0, 0.0]]
    """
    import torch

    width = max(len(s) for s in seqs)
    arr = np.zeros((len(seqs), width), dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.float32)
    for r, s in enumerate(seqs):
        arr[r, : len(s)] = s
        mask[r, : len(s)] = 1.0
    return torch.from_numpy(arr), torch.from_numpy(mask)


__all__ = ["FEATURE_SCALE", "MUS", "SIGMAS", "pad_ids"]
