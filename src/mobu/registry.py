"""Registry of business types, loaded from the ``mobu.businesses`` entry-point group."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from mobu.exceptions import BusinessDefinitionError, InvalidOptionsError, UnknownBusinessError
from mobu.services.resources import COLLABORATORS

if TYPE_CHECKING:
    from mobu.models.business.base import BusinessOptions
    from mobu.services.business.base import Business

__all__ = ["ENTRY_POINT_GROUP", "BusinessRegistry", "Collaborator"]

ENTRY_POINT_GROUP = "mobu.businesses"
_BASE_PARAMETERS = frozenset({"options", "user", "events", "logger", "flock"})


@dataclass(frozen=True, slots=True)
class Collaborator:
    """An extra keyword-only constructor parameter of a business: a collaborator it asks for."""

    name: str
    optional: bool
    """The parameter has a default (used when this process does not provide the collaborator)."""


def collaborators_of(cls: type[Business[Any]]) -> tuple[Collaborator, ...]:
    """The collaborators ``cls`` asks for, checked against those a business may ask for.

    Raises
    ------
    BusinessDefinitionError
        A parameter names no collaborator (the message lists the known ones).
    """
    signature = inspect.signature(cls.__init__)
    found = []
    for p in signature.parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY or p.name in _BASE_PARAMETERS:
            continue
        if p.name not in COLLABORATORS:
            known = ", ".join(sorted(COLLABORATORS))
            raise BusinessDefinitionError(
                f"{cls.__qualname__} asks for {p.name!r}, which is no collaborator of a"
                f" business; known: {known}"
            )
        found.append(Collaborator(p.name, optional=p.default is not inspect.Parameter.empty))
    return tuple(found)


class BusinessRegistry:
    """Maps business type names to classes.

    Parameters
    ----------
    businesses
        Explicit mapping, for tests and embedding. Without it, the entry points of the
        ``mobu.businesses`` group are used, each imported when first asked for; one that fails to
        import is remembered and reported when it is asked for, so one broken plugin does not
        take the others down.
    """

    def __init__(self, businesses: Mapping[str, type[Business[Any]]] | None = None) -> None:
        self._classes: dict[str, type[Business[Any]]] = {}
        self._collaborators: dict[type[Business[Any]], tuple[Collaborator, ...]] = {}
        self._broken: dict[str, str] = {}
        self._pending: dict[str, EntryPoint] = {}
        if businesses is None:
            self._collect_entry_points()
        else:
            for name, cls in businesses.items():
                self.register(name, cls)

    def _collect_entry_points(self) -> None:
        # Entry points are only listed here and imported when first asked for, so a process
        # that runs HTTP checks never imports the IVOA stack (pyvo, astropy: ~70 MB).
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            other = self._pending.get(entry.name)
            if other is not None and other.value != entry.value:
                self._broken[entry.name] = "registered twice by different packages"
            self._pending.setdefault(entry.name, entry)
        for name in self._broken:
            self._pending.pop(name, None)

    def _load(self, name: str) -> type[Business[Any]] | None:
        entry = self._pending.pop(name, None)
        if entry is None:
            return self._classes.get(name)
        try:
            cls: type[Business[Any]] = entry.load()
            self._check(cls)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the others
            self._broken[name] = f"{type(exc).__name__}: {exc}"
            return None
        self._classes[name] = cls
        return cls

    def _check(self, cls: type[Business[Any]]) -> None:
        if cls not in self._collaborators:
            self._collaborators[cls] = collaborators_of(cls)

    def register(self, name: str, cls: type[Business[Any]]) -> None:
        """Register ``cls`` under ``name``.

        Raises
        ------
        ValueError
            Another class is registered under ``name``.
        BusinessDefinitionError
            ``cls`` asks for a collaborator that does not exist.
        """
        existing = self._classes.get(name) or self._load(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"business type {name} is already registered as {existing!r}")
        self._check(cls)
        self._classes[name] = cls

    def names(self) -> list[str]:
        """Return the sorted names of the business types (imported or not yet)."""
        return sorted(set(self._classes) | set(self._pending))

    def get(self, name: str) -> type[Business[Any]]:
        """Return the class registered under ``name``.

        Raises
        ------
        UnknownBusinessError
            No such business type (the message lists the known ones), or its plugin is broken.
        """
        cls = self._classes.get(name) or self._load(name)
        if cls is not None:
            return cls
        if name in self._broken:
            raise UnknownBusinessError(
                f"Business type {name} could not be loaded: {self._broken[name]}",
                ("body", "business", "type"),
            )
        known = ", ".join(self.names())
        raise UnknownBusinessError(
            f"Unknown business type {name!r}; known types: {known}", ("body", "business", "type")
        )

    def options_model(self, name: str) -> type[BusinessOptions]:
        """Return the options model of a business type."""
        return self.get(name).options_model

    def options(
        self,
        name: str,
        raw: Mapping[str, Any],
        location: tuple[str | int, ...] = ("body", "business"),
    ) -> BusinessOptions:
        """Validate the options ``raw`` of the business type ``name``.

        Raises
        ------
        UnknownBusinessError
            No such business type.
        InvalidOptionsError
            The options do not validate; each error's place is under ``location`` + options.
        """
        model = self.options_model(name)
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise InvalidOptionsError(exc.errors(), location) from None

    def collaborators(self, name: str) -> tuple[Collaborator, ...]:
        """Return the collaborators the business type asks for (checked when it was loaded)."""
        return self._collaborators[self.get(name)]

    def extra_parameters(self, name: str) -> list[str]:
        """Return the names of the collaborators the business type asks for."""
        return [c.name for c in self.collaborators(name)]

    def describe(self) -> list[dict[str, Any]]:
        """Describe every business type: name, summary, options schema, aliases."""
        result = []
        for name in self.names():
            cls = self._load(name)
            if cls is None:
                continue
            info = cls.describe()
            info["type"] = name
            result.append(info)
        return result
