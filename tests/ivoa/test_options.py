"""Option validation of the IVOA businesses (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mobu.models.business.config import BusinessConfig
from mobu.services.business.siaquerysetrunner import SIAQuerySetRunnerOptions
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
    with pytest.raises(ValidationError) as excinfo:
        BusinessConfig.model_validate(
            {"type": "TAPQueryRunner", "options": {"queries": ["SELECT 1"], "bogus": 1}}
        )
    assert "bogus" in str(excinfo.value)


def test_query_timeout_accepts_human_durations() -> None:
    """query_timeout accepts a duration string such as 1m30s."""
    options = TAPQueryRunnerOptions(queries=["SELECT 1"], query_timeout="1m30s")
    assert options.query_timeout.total_seconds() == 90


def test_unknown_query_set() -> None:
    """A TAP or SIA query set that does not exist is refused by name."""
    with pytest.raises(ValidationError, match="no query set 'nope'"):
        TAPQuerySetRunnerOptions(query_set="nope")
    with pytest.raises(ValidationError, match="no SIA query set 'nope'"):
        SIAQuerySetRunnerOptions(query_set="nope")


def test_query_set_directory_needs_params(tmp_path: Path) -> None:
    """A query-set directory without params.yaml is refused."""
    (tmp_path / "a.sql").write_text("SELECT 1")
    with pytest.raises(ValidationError, match=r"has no params\.yaml"):
        TAPQuerySetRunnerOptions(query_set=str(tmp_path))


def test_bad_sia_params(tmp_path: Path) -> None:
    """SIA params.yaml is validated: start after end and unknown keys are refused."""
    (tmp_path / "params.yaml").write_text("start_time: 60320\nend_time: 60310\n")
    with pytest.raises(ValidationError, match="start_time must not be after end_time"):
        SIAQuerySetRunnerOptions(query_set=str(tmp_path))
    (tmp_path / "params.yaml").write_text("min_ra: 10\nsurprise: 1\n")
    with pytest.raises(ValidationError, match="surprise"):
        SIAQuerySetRunnerOptions(query_set=str(tmp_path))


def test_shipped_sets_are_valid() -> None:
    """The query sets shipped with mobu validate, and 'demo' is the default."""
    assert TAPQuerySetRunnerOptions().query_set == "demo"
    assert SIAQuerySetRunnerOptions().query_set == "demo"
