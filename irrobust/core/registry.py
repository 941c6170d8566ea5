"""One registry class for everything a pipeline file names: rankers, shifts, attack recipes.

Pipeline files name components; they never hold import paths. A :class:`Registry` maps a name to an entry (a
class or a small record), refuses to overwrite a name, answers an unknown name with a located
:class:`~irrobust.errors.ConfigError` that suggests the closest name ("did you mean"), iterates in sorted order,
and loads its built-in entries explicitly: the registry is given the list of modules that register them and
imports them on first use (no registration imports scattered through ``__init__`` files).

Inspired by ir_datasets' ``util/registry.py`` (one small registry); reimplemented.

Example:
    >>> reg = Registry("colour")
    >>> reg.register("red", 1)
    1
    >>> reg.get("red"), "red" in reg, list(reg)
    (1, True, ['red'])
    >>> reg.get("rde")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    irrobust.errors.ConfigError: unknown colour 'rde' (did you mean 'red'?); allowed: red
"""

from __future__ import annotations

import difflib
import importlib
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from irrobust.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one kind (``"ranker"``, ``"shift"``, ``"attack"``).

    Args:
        kind: what an entry is, used in error messages.
        builtins: modules (dotted names, fixed in irrobust's code, never read from a config file) whose import
            registers the built-in entries; imported once, on the first lookup or iteration.

    Example:
        >>> reg = Registry("shape")
        >>> @reg.decorator("square")
        ... def square(side):
        ...     return side * side
        >>> reg.get("square")(3)
        9
        >>> reg.register("square", None)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: shape 'square' is already registered
    """

    def __init__(self, kind: str, builtins: Sequence[str] = (), plugins: str | None = None,
                 convert: Callable[[str, object], T] | None = None) -> None:  # fmt: skip
        self.kind = kind
        self._builtins = tuple(builtins)
        self._plugins, self._convert = plugins, convert
        self._entries: dict[str, T] = {}
        self._loaded = not self._builtins and plugins is None
        self._loading = False

    def load_builtins(self) -> None:
        """Import the modules that register the built-in entries (once; later calls do nothing).

        Example:
            >>> Registry("x").load_builtins()
        """
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            for module in self._builtins:
                importlib.import_module(module)
            if self._plugins is not None:
                self.load_entry_points(self._plugins, self._convert)
            self._loaded = True
        finally:
            self._loading = False

    def load_entry_points(self, group: str, convert: Callable[[str, object], T] | None = None) -> list[str]:
        """Register the entries third-party packages declare in the entry-point ``group``; return their names.

        Each entry point's name is the entry's name and its object reference (``module:attribute``, installed by
        the package's metadata, never read from a pipeline file) is loaded and passed through ``convert(name,
        obj)`` (which checks it and raises ``TypeError`` / ``ValueError`` when it is not a valid entry). A plugin
        that fails to import, is not a valid entry or takes a name already registered is a
        :class:`~irrobust.errors.ConfigError` naming the entry point and its distribution, never a traceback.
        Registries created with ``plugins=group`` call this once, after their built-ins.

        A package adds a ranker by declaring, in its ``pyproject.toml``::

            [project.entry-points."irrobust.rankers"]
            my_ranker = "my_package.irrobust_plugin:ENTRY"

        Example:
            >>> Registry("x").load_entry_points("irrobust.no-such-group")
            []
        """
        from importlib.metadata import entry_points

        names: list[str] = []
        for ep in sorted(entry_points(group=group), key=lambda e: (e.name, e.value)):
            dist = getattr(getattr(ep, "dist", None), "name", None)
            where = f"entry point {ep.name} = {ep.value} (group {group}" + (f", distribution {dist})" if dist else ")")
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001  (a third party's import error, reported located)
                raise ConfigError(f"the {self.kind} plugin cannot be loaded: {type(exc).__name__}: {exc}",
                                  where=where) from None  # fmt: skip
            try:
                entry = convert(ep.name, obj) if convert is not None else obj
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"not a valid {self.kind}: {exc}", where=where) from None
            try:
                self.register(ep.name, entry)  # type: ignore[arg-type]
            except ConfigError as exc:
                raise ConfigError(f"{exc.message}; a plugin cannot replace it (rename the entry point)",
                                  where=where) from None  # fmt: skip
            names.append(ep.name)
        return names

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; a name registered twice is an error (nothing is silently replaced).

        Example:
            >>> Registry("x").register("a", 3)
            3
        """
        if not isinstance(name, str) or not name:
            raise ConfigError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries:
            if _origin(self._entries[name]) is not None and _origin(self._entries[name]) == _origin(entry):
                self._entries[name] = entry  # the same definition, its module executed again
                return entry
            raise ConfigError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def decorator(self, name: str) -> Callable[[T], T]:
        """``@registry.decorator(name)``: register the decorated object under ``name``.

        Example:
            >>> reg = Registry("x")
            >>> @reg.decorator("one")
            ... class One: ...
            >>> reg.get("one").__name__
            'One'
        """

        def deco(obj: T) -> T:
            return self.register(name, obj)

        return deco

    def unregister(self, name: str) -> T:
        """Remove and return an entry (tests and plugins that register temporarily).

        Example:
            >>> reg = Registry("x"); _ = reg.register("a", 1); reg.unregister("a")
            1
        """
        return self._entries.pop(name)

    def get(self, name: str, where: str | None = None) -> T:
        """The entry registered under ``name``.

        Raises:
            ConfigError: unknown name (``where`` locates it), with the closest known name and the allowed ones.

        Example:
            >>> Registry("x").get("nope", where="systems[0]")  # doctest: +IGNORE_EXCEPTION_DETAIL
            Traceback (most recent call last):
            irrobust.errors.ConfigError: systems[0]: unknown x 'nope'; allowed: (none)
        """
        self.load_builtins()
        if isinstance(name, str) and name in self._entries:
            return self._entries[name]
        known = sorted(self._entries)
        close = difflib.get_close_matches(name, known, n=1) if isinstance(name, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown {self.kind} {name!r}{hint}; allowed: {', '.join(known) or '(none)'}",
                          where=where)  # fmt: skip

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        self.load_builtins()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self.load_builtins()
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        self.load_builtins()
        return len(self._entries)

    def items(self) -> list[tuple[str, T]]:
        """``(name, entry)`` pairs in name order.

        Example:
            >>> reg = Registry("x"); _ = reg.register("b", 2); _ = reg.register("a", 1); reg.items()
            [('a', 1), ('b', 2)]
        """
        self.load_builtins()
        return sorted(self._entries.items())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._entries)} entries)"


def _origin(entry: object) -> tuple[str, str] | None:
    """Where an entry was defined (module, qualified name): a class, a function, or a record with a ``build``."""
    obj = getattr(entry, "build", entry)
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    return (module, qualname) if module and qualname else None


#: the process-wide home of the shared registries: a module object that exists only in ``sys.modules`` (never a
#: file), so a registry survives its defining module being executed twice (pytest's importlib import mode runs a
#: module again to collect its doctests; a second, empty registry would then miss the built-ins)
_STORE = "irrobust.core._registries"


def shared_registry(kind: str, builtins: Sequence[str] = (), plugins: str | None = None,
                    convert: Callable[[str, object], object] | None = None) -> Registry:  # fmt: skip
    """The one registry of ``kind`` in this process (created on first call; later calls return the same object).

    ``plugins`` names the entry-point group third-party entries are loaded from (:meth:`Registry.load_entry_points`).

    Example:
        >>> shared_registry("_doc_kind") is shared_registry("_doc_kind")
        True
    """
    store = sys.modules.get(_STORE)
    if store is None:
        store = sys.modules.setdefault(_STORE, types.ModuleType(_STORE))
    reg = getattr(store, kind, None)
    if reg is None:
        reg = Registry(kind, builtins, plugins, convert)
        setattr(store, kind, reg)
    return reg
