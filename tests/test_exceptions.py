"""One error tree: every exception class of mobu derives from ``MobuError``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import mobu
from mobu.exceptions import ClientRequestError, MobuError

EXEMPTION = "Not a MobuError"
"""How the docstring of an exception that must stay outside the tree starts its reason."""


def exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module of the ``mobu`` package."""
    found: list[type[BaseException]] = []
    for info in pkgutil.walk_packages(mobu.__path__, "mobu."):
        module = importlib.import_module(info.name)
        found += [
            value
            for value in vars(module).values()
            if inspect.isclass(value)
            and issubclass(value, BaseException)
            and value.__module__ == info.name
        ]
    return found


def test_every_exception_is_a_mobu_error() -> None:
    """Each exception class of mobu is a MobuError, unless its docstring says why not."""
    classes = exception_classes()
    assert len(classes) > 30
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in classes
        if not issubclass(cls, MobuError) and EXEMPTION not in (cls.__doc__ or "")
    ]
    assert outside == []


def test_every_client_error_has_its_own_code() -> None:
    """Each ClientRequestError subclass carries an error code and a 4xx or 5xx status."""
    for cls in exception_classes():
        if issubclass(cls, ClientRequestError) and cls is not ClientRequestError:
            assert cls.error != ClientRequestError.error, cls
            assert cls.status_code is not None
            assert 400 <= cls.status_code < 600, cls
