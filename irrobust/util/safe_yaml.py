"""A bounded, safe YAML reader for user-supplied files (pipeline files and the like).

``yaml.safe_load`` executes nothing, but it still expands aliases (a "billion laughs" file of a few
hundred bytes becomes gigabytes), recurses once per nesting level (a flow list nested 100,000 deep is a
``RecursionError``), accepts lists and maps as mapping keys (``TypeError: unhashable type``) and reads
files of any size. This reader parses the event stream of the (C, when available) YAML parser itself,
composes the node tree iteratively and stops at the first violation of these rules:

* at most :data:`MAX_BYTES` bytes of UTF-8 text in a regular file (no FIFOs or devices);
* no anchors (``&name``), aliases (``*name``) or merge keys (``<<``): nothing is expanded;
* at most :data:`MAX_DEPTH` nested collections and :data:`MAX_NODES` nodes in all;
* one document; mapping keys are plain strings and appear once per mapping.

Every violation is a :class:`~irrobust.errors.ConfigError` naming the file and the line and column, raised
after reading at most ``MAX_BYTES`` bytes and composing at most ``MAX_NODES`` nodes, so it comes in well
under a second with memory bounded by the cap. Tags are resolved as ``yaml.safe_load`` resolves them
(only the standard safe tags construct; ``!!python/...`` is an error).

Example:
    >>> load_yaml_text("a: 1\\nb: [x, y]\\n", where="doc.yaml")
    {'a': 1, 'b': ['x', 'y']}
    >>> load_yaml_text("a: &x [1]\\nb: *x\\n", where="doc.yaml")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    irrobust.errors.ConfigError: doc.yaml: anchors (&x) are not allowed at line 1, column 4 ...
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml import events as ev
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from irrobust.errors import ConfigError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "load_yaml_file", "load_yaml_text", "shown_path"]

#: largest file read, in bytes (the biggest shipped pipeline is under 4 KB)
MAX_BYTES = 256 * 1024
#: deepest nesting of collections (shipped pipelines nest at most 7 deep)
MAX_DEPTH = 32
#: most nodes (scalars, lists and maps) in one file
MAX_NODES = 10_000
#: longest path shown in full in a message (longer ones are abbreviated in the middle)
_SHOWN_PATH = 240

_MERGE_TAG = "tag:yaml.org,2002:merge"
_Parser: Any = getattr(yaml, "CSafeLoader", None) if getattr(yaml, "__with_libyaml__", False) else None
_Parser = _Parser or yaml.SafeLoader


def shown_path(path: str | os.PathLike[str]) -> str:
    """The path as shown in messages: in full, or its start and end when it is very long.

    Example:
        >>> shown_path("p.yaml"), len(shown_path("x" * 10_000)) < 300
        ('p.yaml', True)
    """
    text = str(path)
    if len(text) <= _SHOWN_PATH:
        return text
    half = _SHOWN_PATH // 2 - 10
    return f"{text[:half]}...({len(text)} characters)...{text[-half:]}"


class _Violation(Exception):
    """A rule broken at a position of the text (turned into a located :class:`ConfigError`)."""

    def __init__(self, message: str, mark: Any = None) -> None:
        super().__init__(message)
        self.message, self.mark = message, mark


def _at(mark: Any) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _compose(text: str, max_depth: int, max_nodes: int) -> Node | None:
    """The node tree of a one-document stream, built without recursion from the parser's events."""
    resolver = yaml.resolver.Resolver()
    root: Node | None = None
    stack: list[list[Any]] = []  # [open collection node, pending key node (mappings)]
    nodes = documents = 0
    for event in yaml.parse(text, Loader=_Parser):
        if isinstance(event, ev.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Violation("the file holds more than one YAML document (a second '---')", event.start_mark)
            continue
        if isinstance(event, ev.AliasEvent):
            raise _Violation(f"aliases (*{event.anchor}) are not allowed", event.start_mark)
        if isinstance(event, ev.CollectionEndEvent):
            stack.pop()[0].end_mark = event.end_mark
            continue
        if not isinstance(event, ev.NodeEvent):
            continue  # stream start/end, document end
        if event.anchor is not None:
            raise _Violation(f"anchors (&{event.anchor}) are not allowed", event.start_mark)
        nodes += 1
        if nodes > max_nodes:
            raise _Violation(f"more than {max_nodes} values in the file", event.start_mark)
        tag = event.tag
        node: Node
        if isinstance(event, ev.ScalarEvent):
            if tag is None or tag == "!":
                tag = resolver.resolve(ScalarNode, event.value, event.implicit)
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
        else:
            kind = SequenceNode if isinstance(event, ev.SequenceStartEvent) else MappingNode
            if tag is None or tag == "!":
                tag = resolver.resolve(kind, None, event.implicit)
            node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if not stack:
            root = node
        else:
            parent = stack[-1]
            if isinstance(parent[0], SequenceNode):
                parent[0].value.append(node)
            elif parent[1] is None:  # a mapping key
                if not isinstance(node, ScalarNode):
                    what = "list" if isinstance(node, SequenceNode) else "mapping"
                    raise _Violation(f"a mapping key must be a plain string, not a {what}", event.start_mark)
                if node.tag == _MERGE_TAG:
                    raise _Violation("merge keys (<<) are not allowed", event.start_mark)
                parent[1] = node
            else:
                parent[0].value.append((parent[1], node))
                parent[1] = None
        if isinstance(node, SequenceNode | MappingNode):
            stack.append([node, None])
            if len(stack) > max_depth:
                raise _Violation(f"lists and mappings nested more than {max_depth} deep", event.start_mark)
    return root


class _Constructor(yaml.constructor.SafeConstructor):
    """``SafeConstructor`` whose mappings need unique string keys and whose value errors carry a position."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except _Violation:
            raise
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. an int of 5,000 digits, a 13th month
            reason = str(exc).split(";")[0]
            raise _Violation(f"invalid value for {node.tag}: {reason}", node.start_mark) from None

    def construct_unique_map(self, node: MappingNode):
        data: dict[str, Any] = {}
        yield data
        for key_node, value_node in node.value:
            key = self.construct_object(key_node)
            if not isinstance(key, str):
                raise _Violation(f"mapping keys must be strings, got {type(key).__name__} {key!r} (quote it)",
                                 key_node.start_mark)  # fmt: skip
            if key in data:
                raise _Violation(f"duplicate key {key!r}", key_node.start_mark)
            data[key] = self.construct_object(value_node)


_Constructor.add_constructor("tag:yaml.org,2002:map", _Constructor.construct_unique_map)


def load_yaml_text(text: str, where: str, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML document under the rules of this module; ``None`` for an empty document.

    Example:
        >>> load_yaml_text("[[[1]]]", where="x.yaml", max_depth=2)  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: x.yaml: lists and mappings nested more than 2 deep at line 1, column 3
    """
    try:
        root = _compose(text, max_depth, max_nodes)
        return None if root is None else _Constructor().construct_document(root)
    except _Violation as exc:
        raise ConfigError(exc.message + _at(exc.mark), where=where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = _at(mark) or (f" at character {exc.position + 1}" if isinstance(exc, yaml.reader.ReaderError) else "")
        raise ConfigError(f"malformed YAML{at}: {problem}", where=where) from None
    except RecursionError:  # not reachable within the depth cap; kept so no input can produce a traceback
        raise ConfigError("lists and mappings nested too deep", where=where) from None


def load_yaml_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                   max_nodes: int = MAX_NODES) -> Any:  # fmt: skip
    """Read a regular file of at most ``max_bytes`` bytes of UTF-8 and parse it with :func:`load_yaml_text`.

    Example:
        >>> load_yaml_file("/nonexistent.yaml")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        irrobust.errors.ConfigError: /nonexistent.yaml: no such file
    """
    where = shown_path(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("not a file" if stat.S_ISDIR(info.st_mode) else "not a regular file", where=where)
        if info.st_size > max_bytes:
            raise ConfigError(f"the file has {info.st_size:,} bytes; at most {max_bytes:,} are read", where=where)
        with Path(path).open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError("no such file", where=where) from None
    except (OSError, ValueError) as exc:  # name too long, permission denied, a loop of links, a NUL in the name
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"cannot read the file ({reason})", where=where) from None
    if len(raw) > max_bytes:
        raise ConfigError(f"the file has more than {max_bytes:,} bytes", where=where)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=where) from None
    return load_yaml_text(text, where, max_depth=max_depth, max_nodes=max_nodes)
