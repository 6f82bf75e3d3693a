"""YAML read safely: bounded aliases and nesting, duplicated keys refused, lines kept.

PyYAML's ``safe_load`` refuses arbitrary objects but not every hostile file: a
few hundred bytes of nested aliases (an "alias bomb") expand to billions of
values for anything that walks the data, a mapping key given twice silently
keeps the last value, and nesting a few thousand levels deep ends in a
``RecursionError``. :func:`load_yaml` composes the document once with a loader
that counts nesting and aliases, measures what the aliases would expand to
without expanding them, and refuses each of these faults by name.

Examples
--------
>>> data, lines = load_yaml("name: Tiny\\nareas:\\n  - name: North\\n", "force.yaml")
>>> data, lines[("areas", 0, "name")]
({'name': 'Tiny', 'areas': [{'name': 'North'}]}, 3)
>>> load_yaml("name: A\\nname: B\\n", "force.yaml")
Traceback (most recent call last):
...
allocator.errors.ForceError: force.yaml: 1 problem
  - force.yaml, line 2, name: key 'name' appears twice (lines 1 and 2); give it once
"""

from __future__ import annotations

from typing import Any

import yaml

from allocator.errors import ForceError, Problem

__all__ = ["MAX_ALIAS_EXPANSION", "MAX_DEPTH", "load_yaml"]

#: the deepest nesting of mappings and lists accepted
MAX_DEPTH = 100
#: the most values that aliases may add when expanded (the file's own values aside)
MAX_ALIAS_EXPANSION = 100_000


class _Refused(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """A safe loader whose scanner and composer refuse deep nesting.

    The scanner's check matters: its work per ``[`` or ``{`` grows with the
    number still open, so a file of a million ``[`` would run for hours.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} levels deep", self.line + 1)
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _sizes(root: yaml.Node) -> tuple[int, int]:
    """(distinct nodes, nodes once every alias is expanded), without expanding; refuses cycles."""
    cap = 10 * MAX_ALIAS_EXPANSION + 10**9
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size[key] = min(cap, 1 + sum(size[id(c)] for c in _children(node)))
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise _Refused("an alias refers to a value that contains it (a recursive structure)",
                               child.start_mark.line + 1)
            if id(child) not in size:
                stack.append((child, False))
    return len(size), size[id(root)]


def _fmt(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def _lines(root: yaml.Node, source: str) -> tuple[dict[tuple[Any, ...], int], list[Problem]]:
    """The 1-based line of every key path (aliases not followed twice), and duplicated keys."""
    lines: dict[tuple[Any, ...], int] = {}
    duplicates: list[Problem] = []
    visited: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                line = key_node.start_mark.line + 1
                if key is not None and key != "<<":
                    if key in seen:
                        duplicates.append(Problem(
                            source, _fmt((*path, key)),
                            f"key {key!r} appears twice (lines {seen[key]} and {line}); give it once", line=line))
                    else:
                        seen[key] = line
                lines.setdefault((*path, key), line)
                stack.append((value_node, (*path, key)))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                stack.append((item, (*path, i)))
    return lines, duplicates


def load_yaml(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse one YAML document safely: ``(data, {key path: line})``.

    Raises
    ------
    allocator.errors.ForceError
        Naming ``source`` and the line: a syntax error, nesting deeper than
        ``MAX_DEPTH``, aliases that would add more than ``MAX_ALIAS_EXPANSION``
        values (an alias bomb) or refer to themselves, a key given twice in
        one mapping (every one of them), more than one document.
    """
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        distinct, expanded = _sizes(node)
        if expanded - distinct > MAX_ALIAS_EXPANSION:
            raise _Refused(
                f"its aliases expand to more than {MAX_ALIAS_EXPANSION:,} values beyond the file's own "
                f"{distinct:,} (an alias bomb?); write the values out or use fewer aliases", None)
        lines, duplicates = _lines(node, source)
        if duplicates:
            raise ForceError(source, duplicates)
        data = loader.construct_document(node)
    except _Refused as exc:
        raise ForceError(source, [Problem(source, "", f"refused: {exc.message}", line=exc.line)]) from None
    except RecursionError:
        raise ForceError(source, [Problem(source, "", f"refused: nested more than {MAX_DEPTH} levels deep")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ForceError(source, [Problem(source, "", f"not valid YAML: {exc}", line=line)]) from None
    finally:
        loader.dispose()
    return data, lines
