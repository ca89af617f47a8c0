"""Settings keys as the reference's chart writes them: camelCase or snake_case, at every level.

The reference's chart renders its ``config:`` values (camelCase: ``logLevel``,
``githubCiApp.acceptedGithubOrgs``, ``metrics.schemaManager.registryUrl``) as the configuration
file. :func:`snake_keys` renames each key of a mapping to the snake_case name of the field it
means, walking the models of the settings so that every section, whoever defines it, gets its
own field names. Keys that are not field names are left as written (the model then refuses them,
naming the key as given). The walk does not enter flock specs (``autostart``: the flock model's
own snake_case keys) nor the free-form mappings of a section (service names, usernames, spawn
options), whose keys are data.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AliasChoices, BaseModel

from mobu.exceptions import MobuError

__all__ = ["REFERENCE_ONLY_KEYS", "KeyConflictError", "snake_case", "snake_keys"]

REFERENCE_ONLY_KEYS = frozenset(
    {
        "alert_hook",
        "gafaelfawr_timeout",
        "gafaelfawr_token",
        "github_ci_app",
        "github_refresh_app",
        "log_level",
        "log_profile",
        "mobu_sentry_dsn",
        "sentry_dsn",
        "sentry_environment",
        "sentry_traces_sample_config",
        "slack_alerts",
    }
)
"""Top-level keys (snake_case) that only the reference's settings have: a file with one of them
(and no ``auth`` section) is reference-shaped (the chart always renders ``logLevel``,
``logProfile``, ``slackAlerts`` and ``sentryTracesSampleConfig``)."""

_RENAMED = {"mobu_sentry_dsn": "sentry_dsn"}
"""The reference's alias spellings of a top-level key."""


class KeyConflictError(MobuError, ValueError):
    """The same setting is given twice (``pathPrefix`` and ``path_prefix``)."""


def snake_case(key: str) -> str:
    """``pathPrefix`` → ``path_prefix``; ``logLevel`` → ``log_level``; snake_case unchanged."""
    out: list[str] = []
    for ch in key:
        if ch.isupper():
            out.append("_" + ch.lower())
        else:
            out.append(ch)
    return "".join(out)


def snake_keys(
    model: type[BaseModel], data: Any, *, opaque: tuple[type[BaseModel], ...] = ()
) -> Any:
    """Rename the keys of ``data`` to the field names of ``model``, recursively.

    Parameters
    ----------
    model
        The model ``data`` is for.
    data
        The parsed YAML (anything but a mapping is returned as is).
    opaque
        Models whose data is passed on untouched (flock specs).

    Raises
    ------
    KeyConflictError
        Two keys of one mapping name the same field; the message gives the key path.
    """
    return _model(model, data, opaque, ())


def _model(
    model: type[BaseModel], data: Any, opaque: tuple[type[BaseModel], ...], path: tuple[str, ...]
) -> Any:
    if not isinstance(data, dict) or issubclass(model, opaque):
        return data
    fields = model.model_fields
    known = {name: name for name in fields}
    spellings: dict[str, str] = {}  # alias choices (metrics.appName) -> the one spelling kept
    for name, info in fields.items():
        if info.alias:
            known[info.alias] = name
        if isinstance(info.validation_alias, AliasChoices):
            for choice in info.validation_alias.choices:
                if isinstance(choice, str):
                    known[choice] = name
                    spellings[choice] = info.alias or name
    out: dict[Any, Any] = {}
    given: dict[Any, Any] = {}
    for key, value in data.items():
        new_key, field = key, known.get(key)
        if isinstance(key, str) and field is None:
            snake = snake_case(key)
            snake = _RENAMED.get(snake, snake) if not path else snake
            if snake in fields:
                new_key, field = snake, snake
        if key in spellings:  # the chart's defaults say application, some overlays appName:
            new_key = spellings[key]  # one field, the later spelling wins
            out.pop(new_key, None)
        if new_key in out:
            where = ".".join((*path, str(new_key)))
            raise KeyConflictError(f"{where}: given twice (as {given[new_key]} and {key})")
        given[new_key] = key
        out[new_key] = (
            value
            if field is None
            else _value(fields[field].annotation, value, opaque, (*path, str(new_key)))
        )
    return out


def _value(
    annotation: Any, value: Any, opaque: tuple[type[BaseModel], ...], path: tuple[str, ...]
) -> Any:
    """Walk ``value`` along its field's type: models, their unions, lists and dict values."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _value(args[0], value, opaque, path)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model(annotation, value, opaque, path)
    if origin in (Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        if isinstance(value, dict) and models:
            return _model(_best_member(models, value), value, opaque, path)
        others = [a for a in args if a not in models and a is not type(None)]
        return _value(others[0], value, opaque, path) if len(others) == 1 else value
    if origin in (list, tuple, set, frozenset) and args and isinstance(value, list):
        return [_value(args[0], item, opaque, path) for item in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _value(args[1], v, opaque, (*path, str(k))) for k, v in value.items()}
    return value


def _best_member(models: list[type[BaseModel]], value: dict[Any, Any]) -> type[BaseModel]:
    """The member of a union that knows most of the keys (snake_case or as written)."""

    def known(model: type[BaseModel]) -> int:
        fields = model.model_fields
        return sum(
            1 for k in value if isinstance(k, str) and (k in fields or snake_case(k) in fields)
        )

    return max(models, key=known)
