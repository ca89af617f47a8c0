"""The shared YAML loader, and every kind of file mobu reads going through it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from mobu.config import ConfigError, load_config
from mobu.exceptions import QuerySetError
from mobu.services.business.querysets import QuerySetLocator
from mobu.services.business.siaquerysetrunner import load_sia_params
from mobu.services.business.tapquerysetrunner import QuerySet
from mobu.services.notebooks import NotebookRepositoryError, load_repo_config
from mobu.yamlload import (
    MAX_ALIAS_EXPANSION,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    YamlLoadError,
    load_yaml_file,
    load_yaml_text,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "mobu"
LOADER = SRC / "yamlload.py"
YAML_READERS = frozenset(
    {
        "load",
        "load_all",
        "safe_load",
        "safe_load_all",
        "full_load",
        "full_load_all",
        "unsafe_load",
        "unsafe_load_all",
        "compose",
        "compose_all",
    }
)


def alias_bomb(levels: int = 9, indent: str = "") -> str:
    """A "billion laughs" document: each level lists the previous one nine times."""
    lines = [f'{indent}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"{indent}l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_refused() -> None:
    """An alias bomb is refused from its node graph, naming the file and the line."""
    with pytest.raises(YamlLoadError) as info:
        load_yaml_text(alias_bomb(), "bomb.yaml")
    message = f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION} extra nodes"
    assert str(info.value) == f"bomb.yaml: line 6, column 5: {message}"
    with pytest.raises(YamlLoadError, match="expand to more than"):
        load_yaml_text(alias_bomb(levels=6), "six.yaml")


def test_recursive_and_deep_aliases_refused() -> None:
    """An alias to its own ancestor, or a chain of aliases nesting too deep, is refused."""
    with pytest.raises(
        YamlLoadError, match=r"^loop\.yaml: line 1, column 11: recursive YAML alias \*a"
    ):
        load_yaml_text("a: &a [1, *a]\n", "loop.yaml")
    with pytest.raises(YamlLoadError, match="recursive YAML alias"):
        load_yaml_text("a: &a {b: {c: *a}}\n", "loop.yaml")
    chain = "l0: &l0 [x]\n" + "".join(f"l{i}: &l{i} [*l{i - 1}]\n" for i in range(1, 80))
    with pytest.raises(YamlLoadError, match=f"aliases nest deeper than {MAX_YAML_DEPTH} levels"):
        load_yaml_text(chain, "chain.yaml")


def test_small_aliases_and_merge_keys_allowed() -> None:
    """Aliases that expand a little (merge keys, PyYAML's own dumps of shared objects) load."""
    text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  z: 3\nsame: *b\n"
    assert load_yaml_text(text, "merge.yaml") == {
        "base": {"x": 1, "y": 2},
        "other": {"x": 1, "y": 2, "z": 3},
        "same": {"x": 1, "y": 2},
    }
    shared = {"type": "EmptyLoop", "options": {"idle_time": "1s"}}
    data = {"autostart": [{"name": "a", "business": shared}, {"name": "b", "business": shared}]}
    dumped = yaml.safe_dump(data)
    assert "*id001" in dumped
    assert load_yaml_text(dumped, "dumped.yaml") == data
    assert load_yaml_text(alias_bomb(levels=5), "five.yaml")["l4"][0][0][0][0][0] == "lol"


def test_plain_yaml() -> None:
    """Ordinary documents load as before."""
    text = "name: x\ncount: 3\nlist: [1, 2.5, true, null]\nmap: {a: b}\n"
    assert load_yaml_text(text, "ok.yaml") == {
        "name": "x",
        "count": 3,
        "list": [1, 2.5, True, None],
        "map": {"a": "b"},
    }
    assert load_yaml_text("", "empty.yaml") is None


def test_depth_limit() -> None:
    """Nesting is capped well below Python's recursion limit (no RecursionError)."""
    ok = "[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH
    assert load_yaml_text(ok, "ok.yaml") is not None
    deep = "a: " + "[" * 5000 + "]" * 5000
    with pytest.raises(YamlLoadError, match=rf"deep\.yaml: line 1, .*deeper than {MAX_YAML_DEPTH}"):
        load_yaml_text(deep, "deep.yaml")
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v\n"
    with pytest.raises(YamlLoadError, match="nested deeper"):
        load_yaml_text(block, "block.yaml")


def test_unrepresentable_scalars() -> None:
    """A 10,000-digit integer or an impossible date is a YAML error, not a bare ValueError."""
    with pytest.raises(YamlLoadError, match=r"big\.yaml: line 2, column 4: Exceeds the limit"):
        load_yaml_text("a: 1\nb: " + "9" * 10_000 + "\n", "big.yaml")
    with pytest.raises(YamlLoadError, match="day is out of range"):
        load_yaml_text("when: 2024-02-30\n", "date.yaml")


def test_unsafe_tags_and_syntax() -> None:
    """Python tags are refused and syntax errors fit on one line with their position."""
    with pytest.raises(YamlLoadError, match="could not determine a constructor"):
        load_yaml_text("x: !!python/object/apply:os.system [id]\n", "tag.yaml")
    with pytest.raises(YamlLoadError) as info:
        load_yaml_text("a: [1\n", "syntax.yaml")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("syntax.yaml is not valid YAML: line 2, column 1: ")
    with pytest.raises(
        YamlLoadError, match=r"^nul\.yaml is not valid YAML: unacceptable character"
    ):
        load_yaml_text("a: \x00\n", "nul.yaml")


def test_file_errors(tmp_path: Path) -> None:
    """Unreadable, oversized and non-UTF-8 files are refused with the file's name."""
    with pytest.raises(YamlLoadError, match=r"cannot read .*absent\.yaml: No such file"):
        load_yaml_file(tmp_path / "absent.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nname: caf\xe9\n")
    with pytest.raises(YamlLoadError, match=r"latin\.yaml: line 2: not UTF-8 text"):
        load_yaml_file(latin)
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"#" * (MAX_YAML_BYTES + 1))
    with pytest.raises(YamlLoadError, match="larger than"):
        load_yaml_file(huge)
    good = tmp_path / "good.yaml"
    good.write_text("\ufeffa: 1\n", encoding="utf-8")
    assert load_yaml_file(good) == {"a": 1}


def test_service_config_refuses_alias_bomb(tmp_path: Path) -> None:
    """The service configuration (autostart options typed dict[str, Any]) refuses a bomb."""
    path = tmp_path / "config.yaml"
    options = alias_bomb(indent="          ")
    path.write_text(
        "autostart:\n"
        "  - name: bomb\n"
        "    count: 1\n"
        "    users: [{username: bot-mobu-bomb}]\n"
        "    business:\n"
        "      type: EmptyLoop\n"
        "      options:\n"
        "        user_options:\n" + options
    )
    with pytest.raises(ConfigError, match=r"config\.yaml: line 14, .*YAML aliases expand to more"):
        load_config(path)


def test_repo_config_refuses_alias_bomb(tmp_path: Path) -> None:
    """A notebook repository's mobu.yaml holding an alias bomb is a repository error."""
    (tmp_path / "mobu.yaml").write_text(alias_bomb())
    with pytest.raises(NotebookRepositoryError, match=r"mobu\.yaml: line 6, .*YAML aliases expand"):
        load_repo_config(tmp_path)


def test_query_set_params_refuse_alias_bomb(tmp_path: Path) -> None:
    """TAP and SIA query-set params.yaml files go through the same loader."""
    (tmp_path / "q.sql").write_text("SELECT 1\n")
    (tmp_path / "params.yaml").write_text(alias_bomb())
    with pytest.raises(ValueError, match=r"params\.yaml is not valid YAML \(line 6, "):
        QuerySet(tmp_path)
    locator = QuerySetLocator.from_dirs([tmp_path.parent])
    with pytest.raises(QuerySetError, match=r"params\.yaml is not valid YAML \(line 6, "):
        load_sia_params(tmp_path.name, locator)


def test_only_the_loader_calls_pyyaml_loaders() -> None:
    """No module but mobu.yamlload calls yaml.load/safe_load (or imports them) directly."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == LOADER:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "yaml"
                and node.attr in YAML_READERS | {"Loader", "SafeLoader", "FullLoader"}
            ):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} yaml.{node.attr}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("yaml"):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} from {node.module}")
    assert offenders == []
