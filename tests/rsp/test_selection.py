"""Which identity and discovery providers the environment selects, and their config errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from mobu.config import Config, ConfigError, load_config
from mobu.discovery import Discovery, DiscoveryError, RepertoireDiscovery
from mobu.factory import ProcessContext
from mobu.identity import AnonymousIdentity, GafaelfawrIdentity, IdentityError
from mobu.platform.repertoire import discovery_document, run_repertoire


def _context(config: Config) -> ProcessContext:
    return ProcessContext(config, logger=structlog.get_logger("mobu-test"))


def test_environment_selects_gafaelfawr_and_repertoire(monkeypatch: pytest.MonkeyPatch) -> None:
    """MOBU_GAFAELFAWR_TOKEN and REPERTOIRE_BASE_URL alone select both providers."""
    monkeypatch.setenv("MOBU_GAFAELFAWR_TOKEN", "gt-admin.secret")
    monkeypatch.setenv("REPERTOIRE_BASE_URL", "http://127.0.0.1:9/repertoire")
    context = _context(load_config(None))
    assert isinstance(context.identity, GafaelfawrIdentity)
    assert isinstance(context.discovery, RepertoireDiscovery)
    assert "gt-admin" not in repr(context.config)


def test_no_environment_keeps_static_and_anonymous() -> None:
    """Without them, discovery is the static section and monkeys have no token."""
    context = _context(Config())
    assert type(context.discovery) is Discovery
    assert isinstance(context.identity, AnonymousIdentity)


def test_gafaelfawr_needs_repertoire() -> None:
    """The gafaelfawr provider without Repertoire is a clear error."""
    with pytest.raises(IdentityError, match="REPERTOIRE_BASE_URL"):
        _context(Config(gafaelfawr_token="gt-a.b"))


def test_renewal_margin_must_be_below_lifetime(tmp_path: Path) -> None:
    """renew_before not below token_lifetime is rejected, naming the key."""
    path = tmp_path / "mobu.yaml"
    path.write_text("identity:\n  provider: gafaelfawr\n  token_lifetime: 1h\n  renew_before: 2h\n")
    with pytest.raises(ConfigError, match=r"identity\.gafaelfawr") as info:
        load_config(path)
    assert "renew_before" in str(info.value)


async def test_repertoire_snapshot_and_static_fallback() -> None:
    """Datasets, hub, Gafaelfawr and applications come from Repertoire; static fills in."""
    document = discovery_document(
        hub_url="https://127.0.0.1:1/",
        gafaelfawr_url="http://127.0.0.1:2/auth/api",
        datasets={"dp02": {"tap": "http://127.0.0.1:3/tap", "sia": "http://127.0.0.1:3/sia"}},
        applications=["nublado", "tap"],
    )
    async with run_repertoire(document) as repertoire:
        config = Config(
            repertoire_base_url=repertoire.url,
            discovery={"services": {"muster": "http://127.0.0.1:4/"}, "applications": ["x"]},
        )
        async with _context(config) as context:
            discovery = context.discovery
            assert discovery.service_url("hub") == "https://127.0.0.1:1/"
            assert discovery.service_url("gafaelfawr_v1") == "http://127.0.0.1:2/auth/api/v1"
            assert discovery.service_url("muster") == "http://127.0.0.1:4/"
            assert discovery.dataset_url("dp02", "sia") == "http://127.0.0.1:3/sia"
            assert discovery.applications == {"nublado", "tap", "x"}
            assert discovery.environment_name == "local-rsp"
            with pytest.raises(DiscoveryError, match="dp1"):
                discovery.dataset_url("dp1", "tap")


async def test_unreachable_repertoire_is_retried_not_fatal() -> None:
    """A Repertoire that cannot be read: a clear error from start, the process still comes up."""
    async with run_repertoire(discovery_document(hub_url="http://x/")) as repertoire:
        url = repertoire.url
    context = _context(Config(repertoire_base_url=url))
    discovery = context.discovery
    assert isinstance(discovery, RepertoireDiscovery)
    with pytest.raises(DiscoveryError, match="Cannot read Repertoire"):
        await discovery.start()
    await discovery.aclose()
    async with context:
        assert isinstance(context.discovery, RepertoireDiscovery)
        assert context.discovery.refreshes == 0
        assert context.manager.list_flocks() == []
