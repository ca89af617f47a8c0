"""Option validation of the IVOA businesses (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mobu.exceptions import InvalidOptionsError, QuerySetError
from mobu.registry import BusinessRegistry
from mobu.services.business.querysets import SHIPPED_ONLY, QuerySetLocator
from mobu.services.business.siaquerysetrunner import SIAQuerySetRunnerOptions, load_sia_params
from mobu.services.business.tapqueryrunner import TAPQueryRunnerOptions
from mobu.services.business.tapquerysetrunner import TAPQuerySetRunnerOptions


def test_queries_required() -> None:
    """TAPQueryRunner options need a non-empty list of non-blank queries."""
    with pytest.raises(ValidationError, match="queries"):
        TAPQueryRunnerOptions()  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="at least 1"):
        TAPQueryRunnerOptions(queries=[])
    with pytest.raises(ValidationError, match="query 1 is empty"):
        TAPQueryRunnerOptions(queries=["SELECT 1", "  "])


def test_unknown_option_rejected_with_its_place() -> None:
    """An unknown TAP option is refused and the error names it."""
    with pytest.raises(InvalidOptionsError) as excinfo:
        BusinessRegistry().options("TAPQueryRunner", {"queries": ["SELECT 1"], "bogus": 1})
    assert "business.options.bogus: unknown key" in str(excinfo.value)


def test_query_timeout_accepts_human_durations() -> None:
    """query_timeout accepts a duration string such as 1m30s."""
    options = TAPQueryRunnerOptions(queries=["SELECT 1"], query_timeout="1m30s")
    assert options.query_timeout.total_seconds() == 90


@pytest.mark.parametrize(
    "value", ["/etc/passwd", "/etc", "../demo", "demo/..", "a/b", "..", ".hidden", "x" * 101, ""]
)
def test_query_set_must_be_a_plain_name(value: str) -> None:
    """Paths, '..' and odd names are refused by both runners, without quoting the value."""
    for model in (TAPQuerySetRunnerOptions, SIAQuerySetRunnerOptions):
        with pytest.raises(ValidationError, match="a query set is a plain name") as info:
            model(query_set=value)
        if len(value) > 3:  # ".." and "a/b" are in the message's own wording
            assert value not in str(info.value)


def test_unknown_query_set() -> None:
    """A plain name that is no shipped set is a QuerySetError (a 422) listing the shipped ones."""
    with pytest.raises(
        QuerySetError,
        match=r"Unknown query set 'nope': .*\(demo, dp0\.2, dp0\.2-long-scans, dp0\.2-med-scans\)$",
    ):
        SHIPPED_ONLY.tap("nope")
    with pytest.raises(QuerySetError, match=r"Unknown SIA query set 'nope'"):
        load_sia_params("nope")


def test_sets_under_configured_dirs(tmp_path: Path) -> None:
    """Sets are found under query_set_dirs in order, after the shipped ones."""
    first, second = tmp_path / "first", tmp_path / "second"
    for root in (first, second):
        (root / "mine").mkdir(parents=True)
        (root / "mine" / "a.sql").write_text("SELECT 1")
        (root / "mine" / "params.yaml").write_text("min_ra: 50\n")
    (second / "sky.yaml").write_text("min_ra: 61\nmax_ra: 62\n")
    (second / "sky2").mkdir()
    (second / "sky2" / "params.yaml").write_text("min_ra: 63\nmax_ra: 64\n")
    locator = QuerySetLocator.from_dirs([first, second])
    assert locator.tap("mine") == (first / "mine").resolve()
    assert locator.tap("demo") == SHIPPED_ONLY.tap("demo")
    assert load_sia_params("sky.yaml", locator).min_ra == 61
    assert load_sia_params("sky2", locator).min_ra == 63
    with pytest.raises(QuerySetError, match=r"'sky2' has no \*\.sql templates"):
        locator.tap("sky2")


def test_query_set_directory_needs_templates_and_params(tmp_path: Path) -> None:
    """A set under query_set_dirs without params.yaml or templates is a clear error."""
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.sql").write_text("SELECT 1")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "params.yaml").write_text("{}")
    locator = QuerySetLocator.from_dirs([tmp_path])
    with pytest.raises(QuerySetError, match=r"has no params\.yaml"):
        locator.tap("t")
    with pytest.raises(QuerySetError, match=r"has no \*\.sql templates"):
        locator.tap("p")


def test_symlink_escapes_look_unknown(tmp_path: Path) -> None:
    """Links out of a configured dir are unknown sets, whether their target exists or not."""
    sets = tmp_path / "sets"
    sets.mkdir()
    (tmp_path / "secret.yaml").write_text("min_ra: 1\n")
    (sets / "leak.yaml").symlink_to(tmp_path / "secret.yaml")
    (sets / "gone.yaml").symlink_to(tmp_path / "gone.yaml")
    (sets / "up").symlink_to(tmp_path, target_is_directory=True)
    locator = QuerySetLocator.from_dirs([sets])
    for name in ("leak.yaml", "gone.yaml", "up"):
        with pytest.raises(QuerySetError, match=f"Unknown SIA query set '{name}'"):
            locator.sia(name)


def test_bad_sia_params_do_not_quote_the_file(tmp_path: Path) -> None:
    """Invalid or unparsable params files name the problem, never their content."""
    locator = QuerySetLocator.from_dirs([tmp_path])
    (tmp_path / "order.yaml").write_text("start_time: 60320\nend_time: 60310\n")
    with pytest.raises(QuerySetError, match="start_time must not be after end_time"):
        load_sia_params("order.yaml", locator)
    (tmp_path / "extra.yaml").write_text("min_ra: 10\nsurprise: hidden-content-42\n")
    with pytest.raises(QuerySetError, match="surprise: unknown key") as info:
        load_sia_params("extra.yaml", locator)
    assert "hidden-content-42" not in str(info.value)
    (tmp_path / "broken.yaml").write_text("min_ra: [hidden-content-43\n")
    with pytest.raises(QuerySetError, match=r"not valid YAML \(line") as info:
        load_sia_params("broken.yaml", locator)
    assert "hidden-content-43" not in str(info.value)
    (tmp_path / "text.yaml").write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(QuerySetError) as info:
        load_sia_params("text.yaml", locator)
    assert "root:x" not in str(info.value)


def test_shipped_sets_are_valid() -> None:
    """The defaults name the shipped demo sets."""
    assert TAPQuerySetRunnerOptions().query_set == "demo"
    assert SIAQuerySetRunnerOptions().query_set == "demo"
