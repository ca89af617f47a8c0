"""Flock and solitary specs as the reference takes them (reference-mobu.md §1.12, §3.1, §4, §7.3).

Every spec below is one the reference accepts; each must be accepted here, options included.
Unknown keys at the flock and solitary level are ignored with a warning naming them; the
business envelope and its options stay strict.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from mobu.exceptions import InvalidOptionsError
from mobu.models.flock import FlockConfig
from mobu.models.solitary import SolitaryConfig
from mobu.registry import BusinessRegistry

REPO = "https://github.com/lsst-sqre/system-test.git"
NUBLADO_ALL = {
    "delete_lab": False,
    "delete_timeout": 120,
    "execution_idle_time": "0.5",
    "get_node": False,
    "image": {"class": "latest-release", "size": "Huge", "debug": True},
    "jitter": "10s",
    "jupyter_timeout": 90.5,
    "max_websocket_message_size": 10485760,
    "spawn_settle_time": 5,
    "spawn_timeout": "15m",
    "url_prefix": "/nb/",
    "working_directory": "/home/bot-mobu-user/work",
}


def _flock(business: dict[str, Any], **fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": "test",
        "count": 1,
        "users": [{"username": "bot-mobu-user"}],
        "scopes": ["exec:notebook"],
        "business": business,
    }
    spec.update(fields)
    return spec


SPECS: dict[str, dict[str, Any]] = {
    "autostart-empty": {
        "name": "basic",
        "count": 10,
        "user_spec": {"username_prefix": "bot-mobu-testuser", "uid_start": 1000, "gid_start": 2000},
        "scopes": ["exec:notebook"],
        "business": {"type": "EmptyLoop"},
    },
    "autostart-python": {
        "name": "python",
        "count": 2,
        "users": [
            {"username": "bot-mobu-python1", "uidnumber": 60000},
            {"username": "bot-mobu-python2", "uidnumber": 60001, "gidnumber": 1000},
        ],
        "scopes": ["exec:notebook"],
        "business": {"type": "NubladoPythonLoop", "restart": True},
    },
    "stray-flock-restart": _flock({"type": "EmptyLoop"}, restart=True),
    "batches": _flock(
        {"type": "EmptyLoop"},
        count=10,
        users=None,
        user_spec={"username_prefix": "bot-mobu-batch"},
        start_batch_size=3,
        start_batch_wait=1,
    ),
    "groups": _flock(
        {"type": "EmptyLoop"},
        users=[{"username": "bot-mobu-g", "groups": [{"name": "g", "id": 1234}, {"name": "h"}]}],
    ),
    "user-spec-groups": _flock(
        {"type": "EmptyLoop"},
        count=3,
        users=None,
        user_spec={"username_prefix": "bot-mobu-u", "groups": [{"name": "g", "id": 5}]},
    ),
    "base-options": _flock(
        {
            "type": "EmptyLoop",
            "options": {
                "error_idle_time": "5m30s",
                "idle_time": "4h 3minutes",
                "log_level": "DEBUG",
            },
        }
    ),
    "durations": _flock(
        {"type": "EmptyLoop", "options": {"error_idle_time": "2w", "idle_time": 1.5}},
        start_batch_wait="90",
    ),
    "nublado-all": _flock({"type": "NubladoPythonLoop", "options": NUBLADO_ALL}),
    "python-code": _flock(
        {"type": "NubladoPythonLoop", "options": {"code": "print(1)", "max_executions": 1}}
    ),
    "image-by-reference": _flock(
        {
            "type": "NubladoPythonLoop",
            "options": {"image": {"class": "by-reference", "reference": "lsstsqre/sciplat-lab:w"}},
        }
    ),
    "image-by-tag-small": _flock(
        {
            "type": "NubladoPythonLoop",
            "options": {"image": {"image_class": "by-tag", "tag": "w_2077_43", "size": "Fine"}},
        }
    ),
    "image-colossal": _flock(
        {"type": "NubladoPythonLoop", "options": {"image": {"size": "Colossal"}}}
    ),
    "websocket-unlimited": _flock(
        {"type": "NubladoPythonLoop", "options": {"max_websocket_message_size": None}}
    ),
    "counting-all": _flock(
        {
            "type": "NotebookRunnerCounting",
            "options": {
                "repo_url": REPO,
                "repo_ref": "main",
                "notebook_idle_time": 5,
                "exclude_dirs": ["deprecated", "tutorials/old"],
                "collection_rules": [
                    {"type": "intersect_union_of", "patterns": ["**/*.ipynb"]},
                    {"type": "exclude_union_of", "patterns": ["sasquatch.ipynb"]},
                ],
                "max_executions": 25,
                "cell_execution_timeout": "1h",
            },
            "restart": True,
        }
    ),
    "counting-defaults": _flock({"type": "NotebookRunnerCounting"}),
    "list": _flock(
        {
            "type": "NotebookRunnerList",
            "options": {
                "repo_url": REPO,
                "collection_rules": [{"type": "intersect_union_of", "patterns": ["ci/*"]}],
            },
        }
    ),
    "infinite": _flock(
        {"type": "NotebookRunnerInfinite", "options": {"repo_url": REPO, **NUBLADO_ALL}}
    ),
    "tap-queries": _flock(
        {
            "type": "TAPQueryRunner",
            "options": {
                "queries": ["SELECT TOP 10 * FROM TAP_SCHEMA.schemas"],
                "sync": False,
                "query_timeout": 30,
            },
        }
    ),
    "tap-set": _flock(
        {"type": "TAPQuerySetRunner", "options": {"dataset": "dp02", "query_set": "dp0.2"}}
    ),
    "tap-set-scans": _flock(
        {
            "type": "TAPQuerySetRunner",
            "options": {"query_set": "dp0.2-long-scans", "query_timeout": None},
        }
    ),
    "tap-set-defaults": _flock({"type": "TAPQuerySetRunner"}),
    "sia": _flock(
        {"type": "SIAQuerySetRunner", "options": {"dataset": "dp02", "query_set": "dp02"}}
    ),
    "gitlfs": _flock(
        {
            "type": "GitLFS",
            "options": {
                "lfs_read_url": "https://git-lfs.example.org/mobu/git-lfs-test.git/info/lfs",
                "lfs_write_url": "https://git-lfs-rw.example.org/mobu/git-lfs-test.git/info/lfs",
            },
        }
    ),
    "muster": _flock({"type": "Muster", "options": {"idle_time": 60}}),
}


@pytest.mark.parametrize("spec", list(SPECS.values()), ids=list(SPECS))
def test_reference_spec_accepted(spec: dict[str, Any]) -> None:
    """The spec and its business options validate."""
    flock = FlockConfig.model_validate(spec)
    BusinessRegistry().options(flock.business.type, flock.business.options, ("business",))


def test_unknown_flock_keys_warned() -> None:
    """Unknown flock-level keys are dropped with one warning naming them, not their values."""
    spec = _flock({"type": "EmptyLoop"}, restart=True, colour="secret-colour-value")
    with capture_logs() as logs:
        flock = FlockConfig.model_validate(spec)
    assert "restart" not in flock.model_dump()
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["keys"] == ["colour", "restart"]
    assert warnings[0]["spec"] == "test"
    assert "secret-colour-value" not in repr(warnings)


def test_unknown_solitary_keys_warned() -> None:
    """A solitary spec's unknown top-level keys are ignored with a warning too."""
    spec = {"user": {"username": "bot-mobu-solo"}, "business": {"type": "EmptyLoop"}, "x": 1}
    with capture_logs() as logs:
        SolitaryConfig.model_validate(spec)
    assert [e["keys"] for e in logs if e["log_level"] == "warning"] == [["x"]]


def test_business_and_options_stay_strict() -> None:
    """Unknown keys of the business envelope and of the options are still refused."""
    with pytest.raises(ValidationError, match=r"business\.colour"):
        FlockConfig.model_validate(_flock({"type": "EmptyLoop", "colour": "red"}))
    flock = FlockConfig.model_validate(_flock({"type": "EmptyLoop", "options": {"colour": 1}}))
    with pytest.raises(InvalidOptionsError, match=r"business\.options\.colour: unknown key"):
        BusinessRegistry().options("EmptyLoop", flock.business.options, ("business",))
    options = {"cell_timeout": "1h", "cell_execution_timeout": "2h"}
    flock = FlockConfig.model_validate(_flock({"type": "NotebookRunnerList", "options": options}))
    with pytest.raises(InvalidOptionsError, match="cell_execution_timeout"):
        BusinessRegistry().options("NotebookRunnerList", flock.business.options, ("business",))


def test_cell_execution_timeout_is_cell_timeout() -> None:
    """The reference's cell_execution_timeout sets cell_timeout; image.class = image_class."""
    registry = BusinessRegistry()
    options: Any = registry.options(
        "NotebookRunnerCounting",
        {"cell_execution_timeout": "1h", "image": {"class": "latest-weekly"}},
        (),
    )
    assert options.cell_timeout.total_seconds() == 3600
    assert options.image.image_class == "latest-weekly"
    same: Any = registry.options(
        "NotebookRunnerCounting", {"image": {"image_class": "latest-weekly"}}, ()
    )
    assert same.image == options.image
