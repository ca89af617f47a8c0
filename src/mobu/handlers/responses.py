"""Pretty JSON responses (sorted keys, 4-space indent, no nulls)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mobu.models.api import ErrorResponse

__all__ = ["INVALID", "NOT_FOUND", "PrettyJSONResponse", "pretty"]

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Flock or monkey not found"}
}
"""OpenAPI description of a 404."""

INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Invalid configuration"},
    502: {"model": ErrorResponse, "description": "The users could not be authenticated"},
}
"""OpenAPI description of the errors of a flock or solitary start."""


class PrettyJSONResponse(JSONResponse):
    """JSON with sorted keys and indentation, for humans reading the API with curl."""

    def render(self, content: Any) -> bytes:
        """Render ``content`` as indented JSON with sorted keys."""
        return (json.dumps(content, indent=4, sort_keys=True, ensure_ascii=False) + "\n").encode()


def pretty(
    content: BaseModel | list[Any],
    *,
    status_code: int = 200,
    exclude_unset: bool = False,
    headers: Mapping[str, str] | None = None,
    serialize_as_any: bool = False,
) -> PrettyJSONResponse:
    """Serialise a model (or a list of models or strings) without null fields.

    ``serialize_as_any``: fields of subclass instances too (a replica group's summaries).
    """
    if isinstance(content, BaseModel):
        data: Any = content.model_dump(
            mode="json",
            exclude_none=True,
            exclude_unset=exclude_unset,
            serialize_as_any=serialize_as_any,
        )
    else:
        data = [
            item.model_dump(mode="json", exclude_none=True) if isinstance(item, BaseModel) else item
            for item in content
        ]
    return PrettyJSONResponse(data, status_code=status_code, headers=headers)
