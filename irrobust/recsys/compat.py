"""Compatibility shim for RecBole 1.2.1 on numpy 2 and torch >= 2.6.

Import this module before any ``recbole`` import (``irrobust.recsys`` does it in its
``__init__``). It does two things, and deliberately not a third (item 2):

1. **numpy 2 aliases.** RecBole's ``Config.compatibility_settings()`` reads ``np.float_``,
   ``np.complex_`` and ``np.unicode_``, and ray 2.6.3 (pulled in by ``recbole.quick_start``)
   reads ``np.bool8``. numpy 2 removed them. They are restored (``float64``, ``complex128``,
   ``str_``, ``bool_``) **only when missing**; an existing attribute is never overwritten.
2. **No unpickling.** torch >= 2.6 defaults ``torch.load`` to ``weights_only=True``, which cannot read
   RecBole's own checkpoints (they pickle the ``Config``). irrobust does **not** relax that: it never
   lets RecBole save or reload a model (the best model is kept in memory,
   :meth:`irrobust.recsys.training.NoiseAwareTrainer.fit_select`), and RecBole's ``checkpoint_dir`` (where
   ``create_dataset`` / ``data_preparation`` would ``pickle.load`` any ``<dataset>-Dataset.pth`` /
   ``-dataloader.pth`` they find) is a fresh private directory per unit, so no file a user could plant in a
   reused run directory is ever unpickled. (Until 2026-11-30 this module gave RecBole a ``torch`` proxy whose
   ``load`` defaulted to ``weights_only=False``; removed, issue 17.)
3. **scipy >= 1.15 ``dok_matrix._update``.** RecBole's ``LightGCN`` (and NGCF, SGL, ...) builds its
   adjacency with the private ``dok_matrix._update(dict)``, which recent scipy removed
   (``AttributeError: 'dok_matrix' object has no attribute '_update'``; not listed in
   environment.md, found here with scipy 1.17.1). It is restored, only when missing, as the same
   unchecked bulk ``dict.update`` of the matrix's storage (``self._dict``).

Example:
    >>> import irrobust.recsys.compat as compat
    >>> import numpy as np, torch
    >>> np.float_ is np.float64
    True
    >>> import recbole.trainer.trainer as rt
    >>> rt.torch.load is torch.load      # RecBole's torch.load is the real one (weights_only=True by default)
    True
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

__all__ = ["NUMPY_ALIASES", "install", "restore_dok_update", "restore_numpy_aliases"]

#: removed numpy-2 name -> the numpy attribute it used to alias
NUMPY_ALIASES: dict[str, str] = {
    "float_": "float64",
    "complex_": "complex128",
    "unicode_": "str_",
    "bool8": "bool_",
}


def restore_numpy_aliases(module: types.ModuleType = np) -> list[str]:
    """Set the numpy-1 aliases that numpy 2 removed, only where they are missing.

    Args:
        module: the numpy module (a stand-in can be passed in tests).

    Returns:
        The names that were added (empty when all existed already).

    Example:
        >>> restore_numpy_aliases()   # already done at import time
        []
    """
    added = []
    for old, new in NUMPY_ALIASES.items():
        if not hasattr(module, old):
            setattr(module, old, getattr(module, new))
            added.append(old)
    return added


def restore_dok_update() -> bool:
    """Give ``scipy.sparse.dok_matrix`` back its private ``_update`` (bulk, unchecked) when missing.

    Returns:
        True if it was added.

    Example:
        >>> import scipy.sparse as sp
        >>> A = sp.dok_matrix((2, 2)); A._update({(0, 1): 1.0}); A.toarray().tolist()
        [[0.0, 1.0], [0.0, 0.0]]
    """
    from scipy.sparse import dok_matrix

    if hasattr(dok_matrix, "_update"):
        return False

    def _update(self: Any, data: dict) -> None:
        self._dict.update(data)

    dok_matrix._update = _update
    return True


def install() -> None:
    """Apply the numpy and scipy fixes (idempotent); called on import of this module.

    Example:
        >>> install(); install()   # safe to repeat
    """
    restore_numpy_aliases()
    restore_dok_update()


install()
