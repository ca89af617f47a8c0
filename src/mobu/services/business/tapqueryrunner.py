"""TAPQueryRunner: runs one of a fixed list of ADQL queries per iteration."""

from __future__ import annotations

import random

from pydantic import Field, field_validator
from typing_extensions import override

from mobu.services.business.tap import (
    PreparedQuery,
    TAPBusiness,
    TAPBusinessOptions,
    new_query_id,
)

__all__ = ["TAPQueryRunner", "TAPQueryRunnerOptions"]


class TAPQueryRunnerOptions(TAPBusinessOptions):
    """Options of TAPQueryRunner."""

    queries: list[str] = Field(
        ...,
        min_length=1,
        description="ADQL queries; each iteration runs one chosen at random",
        examples=[["SELECT TOP 10 * FROM tap_schema.tables"]],
    )

    @field_validator("queries")
    @classmethod
    def _check_queries(cls, value: list[str]) -> list[str]:
        for index, query in enumerate(value):
            if not query.strip():
                raise ValueError(f"query {index} is empty")
        return value


class TAPQueryRunner(TAPBusiness[TAPQueryRunnerOptions]):
    """Runs a TAP query chosen at random from a configured list each iteration."""

    options_model = TAPQueryRunnerOptions

    @override
    def get_next_query(self) -> PreparedQuery:
        index = random.randrange(len(self.options.queries))  # noqa: S311 - not cryptographic
        return PreparedQuery(
            adql=self.options.queries[index], query_id=new_query_id(), template=f"query-{index}"
        )
