"""Compatibility shim for RecBole 1.2.1 on numpy 2 and torch >= 2.6.

Import this module before any ``recbole`` import (``irrobust.recsys`` does it in its
``__init__``). It does exactly three things:

1. **numpy 2 aliases.** RecBole's ``Config.compatibility_settings()`` reads ``np.float_``,
   ``np.complex_`` and ``np.unicode_``, and ray 2.6.3 (pulled in by ``recbole.quick_start``)
   reads ``np.bool8``. numpy 2 removed them. They are restored (``float64``, ``complex128``,
   ``str_``, ``bool_``) **only when missing**; an existing attribute is never overwritten.
2. **Scoped ``torch.load(weights_only=False)``.** torch >= 2.6 defaults to
   ``weights_only=True``, which cannot unpickle RecBole's own checkpoints (they pickle the
   ``Config``), so ``Trainer.resume_checkpoint`` and ``evaluate(load_best_model=True)`` fail.
   Those checkpoints are self-written, trusted files. Instead of changing ``torch.load`` for
   the whole process, every ``recbole.*`` module gets its module-global ``torch`` replaced by
   a thin proxy whose ``load`` defaults to ``weights_only=False``; everything else is the real
   ``torch``. Modules imported later are patched by an import hook, so RecBole modules that
   pull in heavy optional dependencies (``recbole.quick_start`` imports ray) are never
   imported here. ``torch.load`` itself, as seen by every other module, is untouched.
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
    >>> rt.torch.load is torch.load      # RecBole sees the proxy ...
    False
    >>> compat.is_patched(rt)
    True
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

import numpy as np
import torch

__all__ = ["NUMPY_ALIASES", "install", "is_patched", "restore_dok_update", "restore_numpy_aliases"]

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


class _TorchProxy(types.ModuleType):
    """Stands in for ``torch`` inside RecBole modules; only ``load`` differs.

    Attribute look-ups are forwarded to the real ``torch`` and cached on the proxy, so
    after the first access they cost nothing extra.
    """

    def __init__(self, real: types.ModuleType) -> None:
        super().__init__("torch")
        self.__dict__["_irrobust_real_torch"] = real

        @functools.wraps(real.load)
        def load(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("weights_only", False)
            return real.load(*args, **kwargs)

        self.__dict__["load"] = load

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.__dict__["_irrobust_real_torch"], name)
        self.__dict__[name] = value
        return value


_PROXY = _TorchProxy(torch)


def _patch_module(module: types.ModuleType) -> None:
    if module.__dict__.get("torch") is torch:
        module.torch = _PROXY


def is_patched(module: types.ModuleType) -> bool:
    """Whether ``module``'s global ``torch`` is the weights_only=False proxy.

    Example:
        >>> import recbole.trainer.trainer as rt
        >>> is_patched(rt)
        True
    """
    return module.__dict__.get("torch") is _PROXY


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._inner.exec_module(module)
        _patch_module(module)

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, ... for tracebacks/inspect
        return getattr(self._inner, name)


class _RecboleFinder(importlib.abc.MetaPathFinder):
    """Meta-path hook: wraps the loader of every ``recbole`` / ``recbole.*`` module."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "recbole" and not fullname.startswith("recbole."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or isinstance(spec.loader, _PatchingLoader):
            return spec
        spec.loader = _PatchingLoader(spec.loader)
        return spec


_FINDER = _RecboleFinder()


def install() -> None:
    """Apply both fixes (idempotent); called on import of this module.

    Example:
        >>> install(); install()   # safe to repeat
    """
    restore_numpy_aliases()
    restore_dok_update()
    if not any(isinstance(f, _RecboleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _FINDER)
    for name, module in list(sys.modules.items()):
        if module is not None and (name == "recbole" or name.startswith("recbole.")):
            _patch_module(module)


install()
