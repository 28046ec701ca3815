"""Reading YAML inputs (catalogs, timelines, ledgers) with errors that name the file and line.

Stricter than ``yaml.safe_load`` where a silent choice would cost money:

* a key given twice in one mapping is refused (PyYAML keeps the last one, so a
  seat price of 5 could silently become 500);
* nesting deeper than :data:`MAX_DEPTH` is refused before Python's recursion
  limit is met;
* aliases are bounded: a document whose aliases expand to more than
  :data:`MAX_NODES` nodes (a "billion laughs" bomb of 1 KB) is refused before
  anything walks the expanded tree;
* a file that is not UTF-8 text (Latin-1, binary) is one line, not a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pricing.errors import PricingError

MAX_DEPTH: Final[int] = 64  # mappings and sequences inside each other
MAX_NODES: Final[int] = 100_000  # nodes of the document with every alias expanded
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(yaml.YAMLError):
    """A document this module refuses, with the line it starts on."""

    def __init__(self, problem: str, mark: yaml.Mark | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _Strictness:
    """What both loaders refuse while constructing: duplicate keys, integers too long to read."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue  # merged keys may be overridden, as YAML says
            # the ignores in this class: a mixin, typed alone, calls into the SafeLoader it is mixed into
            key = self.construct_object(key_node, deep=False)  # type: ignore[attr-defined]
            try:
                first = seen.get(key)
            except TypeError:  # unhashable: the base class reports it
                continue
            if first is not None:
                raise _Refused(f"duplicate key {key!r} (first given on line {first})", key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]

    def construct_yaml_int(self, node: ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)  # type: ignore[misc]
        except ValueError:  # Python refuses int("1" * 5000): too many digits to convert safely
            raise _Refused("integer too long to read", node.start_mark) from None


class _StrictLoader(_Strictness, yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and deep nesting (while composing, for any size)."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# the mixin's method is typed on _Strictness, which types-PyYAML cannot relate to the loader class
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)  # type: ignore[type-var]

# NOTE: libyaml parses about 7x faster (a month-end run reads every customer's timeline), but
# composes nested nodes by recursion in C: it only reads texts short enough that nesting cannot
# exhaust the C stack, and nesting is then checked on the composed tree.
_FAST_MAX_CHARS = 16_384
_CLoader = getattr(yaml, "CSafeLoader", None)
_FastStrictLoader: type[Any] | None = None  # built at run time from CSafeLoader, which has no stub
if _CLoader is not None:
    _FastStrictLoader = type("_FastStrictLoader", (_Strictness, _CLoader), {})
    _FastStrictLoader.add_constructor("tag:yaml.org,2002:int", _FastStrictLoader.construct_yaml_int)


def _check_depth(root: Node) -> None:
    stack: list[tuple[Node, int]] = [(root, 1)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Refused(f"nested deeper than {MAX_DEPTH} levels", node.start_mark)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)


def _expanded_size(root: Node) -> int:
    """Nodes in the document with aliases expanded, computed without expanding them.

    NOTE: an alias is the same node object reached twice, so sizes are memoised by
    identity; the walk stops as soon as the total passes :data:`MAX_NODES`.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, SequenceNode):
            children: list[Node] = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            sizes[id(node)] = 1
            continue
        if children_done:
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_NODES:
                raise _Refused(
                    f"aliases expand to more than {MAX_NODES:,} nodes (an alias bomb?)", node.start_mark
                )
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _load(text: str) -> Any:
    fast = _FastStrictLoader is not None and len(text) <= _FAST_MAX_CHARS
    loader = _FastStrictLoader(text) if fast else _StrictLoader(text)  # type: ignore[misc]  # _Strictness has no __init__
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if fast:
            _check_depth(root)
        _expanded_size(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def parse_yaml(text: str, origin: str, error: type[PricingError]) -> Any:
    """Parse YAML text whose failure is one line: ``origin: line N: not valid YAML: problem``."""
    if "\x00" in text:
        raise error(f"{origin}: not YAML text (binary content, NUL byte at offset {text.index(chr(0))})")
    try:
        return _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{origin}:{where} not valid YAML: {problem}") from None
    except RecursionError:
        raise error(f"{origin}: not valid YAML: nested too deeply") from None
    except ValueError as exc:  # a constructor's own check (a date like 2026-02-30)
        raise error(f"{origin}: not valid YAML: {str(exc).splitlines()[0]}") from None


def read_yaml(path: Path, error: type[PricingError], missing: str = "no such file") -> Any:
    """Read and parse a YAML file; a missing, unreadable or non-UTF-8 file is one line too."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory, not a YAML file") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start});"
            " save the file as UTF-8"
        ) from None
    return parse_yaml(text.removeprefix("\ufeff"), str(path), error)
