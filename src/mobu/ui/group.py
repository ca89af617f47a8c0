"""What the dashboard shows for a replica group: every replica's flocks, from the merged view.

The same rows and statuses as :mod:`mobu.ui.views`, built from :class:`GroupView` (the
heartbeats and desired state every replica reads) instead of this process's flock manager. A
replica silent beyond the staleness window is shown missing, with its share of monkeys, as
the API's merged view does.
"""

from __future__ import annotations

from mobu.exceptions import FlockNotFoundError
from mobu.history import HistoryReader
from mobu.models.replicas import GroupFlockSummary
from mobu.replicas.merged import GroupView
from mobu.ui.views import FlockStatus, OverviewRow, overview_rows, running_status

__all__ = ["group_overview_rows", "group_status", "missing_text"]


def missing_text(summary: GroupFlockSummary) -> str:
    """ "replica 2 missing (3 monkeys)" for the silent replicas of a flock ("" when none)."""
    missing = [r for r in summary.replicas if r.status == "missing"]
    if not missing:
        return ""
    which = ", ".join(str(r.replica) for r in missing)
    noun = "replica" if len(missing) == 1 else "replicas"
    monkeys = "monkey" if summary.missing_count == 1 else "monkeys"
    return f"{noun} {which} missing ({summary.missing_count} {monkeys})"


async def group_overview_rows(reader: HistoryReader | None, view: GroupView) -> list[OverviewRow]:
    """The overview's rows over every replica of the group."""
    summaries = await view.summaries()
    rows = await overview_rows(reader, summaries)
    missing = {s.name: missing_text(s) for s in summaries}
    for row in rows:
        row.missing = missing.get(row.name, "")
    return rows


async def group_status(view: GroupView, name: str, prefix: str, *, can_start: bool) -> FlockStatus:
    """The state of flock ``name`` over every replica (not running anywhere: an empty status)."""
    try:
        data = await view.flock(name)
        summary = await view.summary(name)
    except FlockNotFoundError:
        return FlockStatus(name=name, running=False, can_start=can_start)
    return running_status(data, summary, prefix, can_start=can_start, missing=missing_text(summary))
