"""The library's public surface: ``mobu.__all__`` is pinned, so a change to it is deliberate."""

from __future__ import annotations

import mobu

PUBLIC = ["AuthenticatedUser", "Business", "BusinessOptions"]


def test_all_is_pinned() -> None:
    """``mobu.__all__`` lists exactly the public names, sorted, and no other."""
    assert mobu.__all__ == PUBLIC
    assert sorted(mobu.__all__) == mobu.__all__


def test_every_public_name_is_importable() -> None:
    """Every name in ``mobu.__all__`` is an attribute of ``mobu`` and says it is mobu's own."""
    for name in mobu.__all__:
        value = getattr(mobu, name)
        assert value.__module__.startswith("mobu."), name


def test_star_import_gives_the_public_names_only() -> None:
    """``from mobu import *`` binds exactly the names of ``mobu.__all__``."""
    namespace: dict[str, object] = {}
    exec("from mobu import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == PUBLIC
