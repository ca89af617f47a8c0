"""The ``replicas:`` section: how replicas sharing one PostgreSQL store coordinate."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mobu.models.timedelta import HumanTimedelta

__all__ = ["ReplicasConfig"]


class ReplicasConfig(BaseModel):
    """Coordination of a group of replicas (active with ``replica_count`` > 1 and a PostgreSQL
    ``history.url``): the desired flocks live in the store, every replica heartbeats its state.
    """

    model_config = ConfigDict(extra="forbid")

    shared: bool = Field(
        True,
        description=(
            "Share the desired state and the merged view through the PostgreSQL history store"
            " when replica_count > 1 (false: every replica on its own, as before)"
        ),
    )
    heartbeat_interval: HumanTimedelta = Field(
        timedelta(seconds=5), description="How often a replica writes its state to the store"
    )
    stale_after: HumanTimedelta = Field(
        timedelta(seconds=30),
        description="A replica silent this long is shown as missing and alerted",
    )
    resync_interval: HumanTimedelta = Field(
        timedelta(seconds=30),
        description="How often a replica re-reads the desired state (besides notifications)",
    )
    advertise_url: str | None = Field(
        None,
        pattern=r"^https?://",
        description=(
            "URL of this replica's API (with the path prefix) for the other replicas;"
            " default: the address the server bound"
        ),
        examples=["http://mobu-2.mobu.mobu.svc.cluster.local:8080/mobu"],
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.stale_after <= self.heartbeat_interval:
            raise ValueError("replicas.stale_after must be longer than replicas.heartbeat_interval")
        return self
