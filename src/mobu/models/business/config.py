"""The business envelope of a flock or solitary config: type, options, restart."""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from mobu.exceptions import UnknownBusinessError
from mobu.models.business.base import BusinessOptions

__all__ = ["BusinessConfig"]

_TYPE_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$"


class BusinessConfig(BaseModel):
    """Which business to run and with which options.

    ``type`` is the name of a registered business (an entry point of ``mobu.businesses``), and
    ``options`` are validated against that business's own options model, so an unknown key or a
    bad value is reported with its place, e.g. ``business.options.url``. The registry comes from
    the validation context (key ``registry``) or, by default, from the installed entry points.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: str = Field(
        ..., pattern=_TYPE_PATTERN, description="Business type", examples=["EmptyLoop", "HTTPCheck"]
    )
    options: SerializeAsAny[BusinessOptions] = Field(
        default_factory=BusinessOptions,
        description="Options of the business type (see GET /mobu/businesses for each schema)",
    )
    restart: bool = Field(
        False, description="Restart the business after a failure (after error_idle_time)"
    )

    @model_validator(mode="wrap")
    @classmethod
    def _validate_options(cls, data: Any, handler: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or isinstance(data.get("options"), BusinessOptions):
            return handler(data)
        type_name = data.get("type")
        raw_options = data.get("options")
        if raw_options is None:
            raw_options = {}
        partial = dict(data)
        partial["options"] = {}
        if not isinstance(type_name, str) or not re.match(_TYPE_PATTERN, type_name):
            return handler(partial)  # reports the missing, mistyped or malformed type
        registry = (info.context or {}).get("registry")
        if registry is None:
            from mobu.registry import default_registry  # avoid import cycle

            registry = default_registry()
        try:
            model = registry.options_model(type_name)
        except UnknownBusinessError as exc:
            raise PydanticCustomError("unknown_business", exc.message) from None
        try:
            options = model.model_validate(raw_options)
        except ValidationError as exc:
            # The input stays inside the exception (the error serialiser uses it to cut echoes
            # out of messages, then drops it) and is hidden from its text.
            raise ValidationError.from_exception_data(
                cls.__name__,
                [_rewrap(err) for err in exc.errors()],
                hide_input=True,
            ) from None
        result = handler(partial)
        result.options = options
        return result


def _rewrap(err: Any) -> InitErrorDetails:
    """The error ``err`` of the options, placed under ``options``.

    A validator's message is passed on as it is: as a template it would be formatted again
    (with braces of its own text taken for placeholders).
    """
    loc = ("options", *err["loc"])
    if err["type"] in ("value_error", "assertion_error"):
        message = PydanticCustomError("value_error", "{message}", {"message": err["msg"]})
        return InitErrorDetails(type=message, loc=loc, input=err["input"])
    return InitErrorDetails(type=err["type"], loc=loc, input=err["input"], ctx=err.get("ctx", {}))
