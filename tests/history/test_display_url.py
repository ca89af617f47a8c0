"""The history store's URL is shown without its password (docs/security.md, replica groups)."""

from __future__ import annotations

from mobu.history.store import HistoryStore


def test_display_url_hides_the_password() -> None:
    """A PostgreSQL URL's password never reaches what the index and status routes show."""
    store = HistoryStore("postgresql+asyncpg://mobu:s3cr3t-pw@db.example:5432/mobu")
    shown = store.display_url
    assert "s3cr3t-pw" not in shown
    assert shown.startswith("postgresql+asyncpg://mobu:")
    assert shown.endswith("@db.example:5432/mobu")
    assert store.url.endswith("s3cr3t-pw@db.example:5432/mobu")
