"""Authentication modes: admin tokens, a trusted ingress header, none (loopback only)."""

from __future__ import annotations

import httpx
import pytest

from mobu.config import AuthConfig, Config, ConfigError, load_config
from tests.api.conftest import AppFactory

ADMIN = "admin-token-1"
OTHER = "admin-token-2"


async def test_tokens(app_factory: AppFactory) -> None:
    """Missing → 401 with WWW-Authenticate: Bearer; wrong → 403; any configured token works."""
    config = Config(auth={"tokens": [ADMIN, OTHER]})
    async with app_factory(config) as client:
        r = await client.get("/mobu/flocks")
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == "Bearer"
        assert r.json()["detail"][0]["type"] == "not_authenticated"
        r = await client.get("/mobu/flocks", headers={"Authorization": "Basic Zm9vOmJhcg=="})
        assert r.status_code == 401
        r = await client.get("/mobu/flocks", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 403
        assert r.json()["detail"][0]["type"] == "permission_denied"
        for token in (ADMIN, OTHER):
            r = await client.get("/mobu/flocks", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200
        # The docs and schema are protected too; only /health is open.
        assert (await client.get("/mobu/openapi.json")).status_code == 401
        assert (await client.get("/health")).status_code == 200
        schema = (
            await client.get("/mobu/openapi.json", headers={"Authorization": f"Bearer {ADMIN}"})
        ).json()
        assert "HTTPBearer" in schema["components"]["securitySchemes"]


async def test_trust_header(app_factory: AppFactory) -> None:
    """The ingress header must be present."""
    config = Config(auth={"trust_header": "X-Auth-Request-User"})
    async with app_factory(config) as client:
        r = await client.get("/mobu/summary")
        assert r.status_code == 401
        assert r.json()["detail"][0]["loc"] == ["header", "x-auth-request-user"]
        r = await client.get("/mobu/summary", headers={"X-Auth-Request-User": "someone"})
        assert r.status_code == 200


def test_tokens_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Admin tokens can come from MOBU_AUTH__TOKENS; they never show in the config's repr."""
    monkeypatch.setenv("MOBU_AUTH__TOKENS", f'["{ADMIN}"]')
    config = load_config(None)
    assert config.auth.mode == "tokens"
    assert config.auth.tokens[0].get_secret_value() == ADMIN
    assert ADMIN not in repr(config)


def test_none_only_on_loopback() -> None:
    """auth: none is refused for a non-loopback bind."""
    auth = AuthConfig.model_validate("none")
    auth.check_bind("127.0.0.1")
    auth.check_bind("::1")
    auth.check_bind("localhost")
    with pytest.raises(ConfigError, match="loopback"):
        auth.check_bind("0.0.0.0")
    AuthConfig(tokens=[ADMIN]).check_bind("0.0.0.0")


async def test_token_needed_for_every_route(app_factory: AppFactory) -> None:
    """Every route under the prefix and unknown paths need the token."""
    config = Config(auth={"tokens": [ADMIN]})
    async with app_factory(config) as client:
        for method, path in [
            ("PUT", "/mobu/flocks"),
            ("POST", "/mobu/run"),
            ("GET", "/mobu/businesses"),
            ("GET", "/mobu/docs"),
            ("DELETE", "/mobu/flocks/x"),
            ("GET", "/elsewhere"),
        ]:
            r: httpx.Response = await client.request(method, path)
            assert r.status_code == 401, (method, path)


async def test_duplicate_auth_headers_refused(app_factory: AppFactory) -> None:
    """Authorization or the trusted header given twice is a 400, whichever copy is valid."""
    config = Config(auth={"tokens": [ADMIN, OTHER]})
    async with app_factory(config) as client:
        for pair in ([ADMIN, OTHER], ["wrong", ADMIN], [ADMIN, ADMIN]):
            headers = [("Authorization", f"Bearer {token}") for token in pair]
            r = await client.get("/mobu/flocks", headers=headers)
            assert r.status_code == 400
            assert r.json()["detail"] == [
                {
                    "loc": ["header", "authorization"],
                    "msg": "Header authorization given more than once",
                    "type": "duplicate_header",
                }
            ]
    config = Config(auth={"trust_header": "X-Auth-Request-User"})
    async with app_factory(config) as client:
        headers = [("X-Auth-Request-User", "a"), ("x-auth-request-user", "b")]
        r = await client.get("/mobu/summary", headers=headers)
        assert r.status_code == 400
        assert r.json()["detail"][0]["type"] == "duplicate_header"
        r = await client.get("/mobu/summary", headers={"X-Auth-Request-User": "a"})
        assert r.status_code == 200


async def test_health_open_metrics_need_token(app_factory: AppFactory) -> None:
    """/health answers without a token; /metrics needs the admin token like every other route."""
    config = Config(auth={"tokens": [ADMIN]})
    async with app_factory(config) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/metrics")).status_code == 401
        wrong = {"Authorization": "Bearer not-the-token"}
        assert (await client.get("/metrics", headers=wrong)).status_code == 403
        good = {"Authorization": f"Bearer {ADMIN}"}
        answer = await client.get("/metrics", headers=good)
        assert answer.status_code == 200
        assert "mobu_" in answer.text
