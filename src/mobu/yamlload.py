"""The one YAML reader of mobu: safe tags only, bounded size, depth and alias expansion.

Every file mobu reads (service configuration, flock and solitary specs, ``mobu.yaml`` of a
notebook repository, query-set parameters) goes through :func:`load_yaml_file` or
:func:`load_yaml_text`; ``tests/test_yamlload.py`` checks that nothing else calls PyYAML's
loaders. Aliases are allowed (``<<: *defaults`` is common, and PyYAML's dumper writes them for
shared objects) but what they expand to is bounded, since a few of them nested can expand
exponentially (an "alias bomb"); recursive aliases are refused. The depth limit keeps the
recursive composer, and whoever walks the result, far from Python's recursion limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.events import AliasEvent, CollectionStartEvent
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.parser import ParserError
from yaml.reader import ReaderError
from yaml.scanner import ScannerError

from mobu.exceptions import MobuError

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "YamlLoadError",
    "load_yaml_file",
    "load_yaml_text",
]

MAX_YAML_BYTES = 4 * 1024 * 1024
"""Largest YAML file read, in bytes (mobu's own files are a few kilobytes)."""

MAX_YAML_DEPTH = 64
"""Deepest nesting of sequences and mappings accepted (also through aliases)."""

MAX_ALIAS_EXPANSION = 100_000
"""Most nodes that aliases may add to a document once expanded (a "billion laughs" adds 10**9)."""


class YamlLoadError(MobuError, ValueError):
    """A YAML file cannot be read or parsed; the one-line message names the file and line."""


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with bounded alias expansion and depth, and checked scalars.

    While composing, each node's size and depth *as expanded* (an alias counting as the
    whole node it names) are recorded, so a bomb is refused from its node graph without ever
    being expanded.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0
        self._expanded: dict[int, tuple[int, int]] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, checking its nesting and what its aliases expand to."""
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._expanded:
                problem = f"recursive YAML alias *{event.anchor}"
                raise ComposerError(None, None, problem, event.start_mark)
            return super().compose_node(parent, index)
        collection = self.check_event(CollectionStartEvent)
        if collection:
            self._depth += 1
            if self._depth > MAX_YAML_DEPTH:
                self._refuse(f"nested deeper than {MAX_YAML_DEPTH} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            if collection:
                self._depth -= 1
        if node is not None:
            self._measure(node)
        return node

    def _measure(self, node: Node) -> None:
        """Record the expanded size and depth of a node whose children are all measured."""
        self._nodes += 1
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            self._expanded[id(node)] = (1, 0)
            return
        sizes = [self._expanded[id(child)] for child in children]
        size = 1 + sum(s for s, _ in sizes)
        depth = 1 + max((d for _, d in sizes), default=0)
        self._expanded[id(node)] = (size, depth)
        if size > self._nodes + MAX_ALIAS_EXPANSION:
            self._refuse(
                f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} extra nodes", node
            )
        if depth > MAX_YAML_DEPTH:
            self._refuse(f"aliases nest deeper than {MAX_YAML_DEPTH} levels", node)

    def _refuse(self, problem: str, node: Node | None = None) -> NoReturn:
        mark = node.start_mark if node is not None else self.peek_event().start_mark  # type: ignore[no-untyped-call]
        raise ComposerError(None, None, problem, mark)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """Turn a scalar Python refuses (a 10,000-digit integer, 2024-02-30) into a YAML error."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            problem = str(exc).split("; use sys.set_int_max_str_digits()")[0]
            raise ConstructorError(None, None, problem, node.start_mark) from exc


def _describe(exc: yaml.YAMLError, source: str) -> str:
    """One line: ``source[ is not valid YAML]: line L, column C: problem``."""
    syntax = isinstance(exc, ScannerError | ParserError | ReaderError)
    where = f"{source} is not valid YAML" if syntax else source
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.problem and exc.context:
            problem = f"{exc.problem} ({exc.context})"
        if mark is not None:
            return f"{where}: line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return f"{where}: {problem}"
    lines = str(exc).splitlines()
    return f"{where}: {lines[0] if lines else type(exc).__name__}"


def load_yaml_text(text: str, source: str) -> Any:
    """Parse one YAML document with the safe tags only.

    Parameters
    ----------
    text
        The document.
    source
        What to call it in error messages (usually the file name).

    Raises
    ------
    YamlLoadError
        Not valid YAML, a recursive alias, aliases adding more than
        :data:`MAX_ALIAS_EXPANSION` nodes, nesting deeper than :data:`MAX_YAML_DEPTH`, a
        scalar Python cannot represent, or larger than :data:`MAX_YAML_BYTES`.
    """
    if len(text) > MAX_YAML_BYTES:
        raise YamlLoadError(f"{source}: larger than {MAX_YAML_BYTES} bytes")
    try:
        loader = _SafeLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise YamlLoadError(_describe(exc, source)) from exc


def load_yaml_file(path: Path) -> Any:
    """Read and parse the YAML file ``path`` (UTF-8), as :func:`load_yaml_text` does.

    Raises
    ------
    YamlLoadError
        The file cannot be read, is too large, is not UTF-8, or is not acceptable YAML.
    """
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise YamlLoadError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_YAML_BYTES:
        raise YamlLoadError(f"{path}: larger than {MAX_YAML_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlLoadError(f"{path}: line {line}: not UTF-8 text") from exc
    return load_yaml_text(text, str(path))
