"""Events is the publisher registry only; each business's event models keep the payload fields."""

from __future__ import annotations

import pytest

from mobu.events import BusinessEvent, Events, TimedEvent
from mobu.services.business.empty import EmptyLoopExecution
from mobu.services.business.gitlfs import GitLfsCheck
from mobu.services.business.httpcheck import HttpCheckEvent
from mobu.services.business.labsession import NubladoDeleteLab, NubladoSpawnLab
from mobu.services.business.muster import MusterExecution
from mobu.services.business.notebookrunner import NotebookCellExecution, NotebookExecution
from mobu.services.business.nubladopythonloop import NubladoPythonExecution
from mobu.services.business.siaquerysetrunner import SIAQuery
from mobu.services.business.tap import TapQuery

COMMON = {"flock", "username", "business", "success"}
TIMED = COMMON | {"duration"}
NOTEBOOK = TIMED | {"notebook", "repo", "repo_ref", "repo_hash"}


def test_publishers_are_made_on_demand_one_model_per_name() -> None:
    """A publisher exists once asked for; the same name gives it again, another model is refused."""
    events = Events()
    assert not hasattr(events, "tap_query")
    first = events.publisher("tap_query", TapQuery)
    assert events.publisher("tap_query", TapQuery) is first
    with pytest.raises(ValueError, match="tap_query is already published as TapQuery"):
        events.publisher("tap_query", SIAQuery)


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (EmptyLoopExecution, COMMON),
        (MusterExecution, TIMED),
        (TapQuery, TIMED | {"sync"}),
        (SIAQuery, TIMED),
        (GitLfsCheck, TIMED),
        (HttpCheckEvent, TIMED | {"status_code"}),
        (NotebookExecution, NOTEBOOK),
        (NotebookCellExecution, NOTEBOOK | {"cell_id"}),
        (NubladoPythonExecution, TIMED | {"code"}),
        (NubladoSpawnLab, TIMED),
        (NubladoDeleteLab, TIMED),
    ],
)
def test_event_models_keep_their_payload_fields(
    model: type[BusinessEvent], fields: set[str]
) -> None:
    """Every built-in event model has the reference's payload fields, on the one shared base."""
    assert issubclass(model, BusinessEvent)
    assert issubclass(model, TimedEvent) == ("duration" in fields)
    assert set(model.model_fields) == fields
