"""A notebook repository's vocabulary: its ``mobu.yaml`` and the collection rules."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CollectionRule", "RepoConfig"]


class CollectionRule(BaseModel):
    """Keep or drop the notebooks matching any of the patterns."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["intersect_union_of", "exclude_union_of"] = Field(
        ..., description="intersect_union_of: keep only matches; exclude_union_of: drop matches"
    )
    patterns: list[str] = Field(
        ...,
        min_length=1,
        description="Glob patterns relative to the repository root",
        examples=[["tutorials/**"]],
    )


class RepoConfig(BaseModel):
    """The repository's ``mobu.yaml``."""

    model_config = ConfigDict(extra="forbid")

    exclude_dirs: list[str] = Field(
        default_factory=list, description="Deprecated: directories whose notebooks are skipped"
    )
    collection_rules: list[CollectionRule] = Field(
        default_factory=list, description="Rules applied in order after the flock's own"
    )
