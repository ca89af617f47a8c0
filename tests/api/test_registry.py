"""Each app validates businesses against its own process context's registry, never a global one."""

from __future__ import annotations

from typing import Any

import httpx

from mobu.registry import BusinessRegistry
from mobu.services.business.empty import EmptyLoop
from tests.api.conftest import AppFactory, flock_body


class OnlyHere(EmptyLoop):
    """A business registered in one injected registry only."""


def run_body(business: str) -> dict[str, Any]:
    """A solitary run of ``business`` with a short idle time."""
    return {
        "user": {"username": "bot-mobu-solo"},
        "business": {"type": business, "options": {"idle_time": "10ms"}},
    }


def unknown(r: httpx.Response) -> None:
    """Check that ``r`` refuses the business type as unknown."""
    assert r.status_code == 422, r.text
    [detail] = r.json()["detail"]
    assert detail["type"] == "unknown_business"
    assert detail["loc"] == ["body", "business", "type"]


async def test_injected_business_is_known_to_its_app_only(app_factory: AppFactory) -> None:
    """A business only in one app's injected registry runs there and is unknown to another app."""
    registry = BusinessRegistry({"OnlyHere": OnlyHere})
    body = flock_body(type="OnlyHere", options={"idle_time": "10ms"})
    async with app_factory(registry=registry) as mine, app_factory() as other:
        r = await mine.put("/mobu/flocks", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["config"]["business"] == {
            "type": "OnlyHere",
            "options": {"idle_time": 0.01},
        }
        r = await mine.post("/mobu/run", json=run_body("OnlyHere"))
        assert r.status_code == 200, r.text
        assert r.json()["success"] is True
        assert [b["type"] for b in (await mine.get("/mobu/businesses")).json()] == ["OnlyHere"]

        unknown(await other.put("/mobu/flocks", json=body))
        unknown(await other.post("/mobu/run", json=run_body("OnlyHere")))
        assert (await other.get("/mobu/flocks")).json() == []
        r = await other.put("/mobu/flocks", json=flock_body())
        assert r.status_code == 201, r.text
        unknown(await mine.put("/mobu/flocks", json=flock_body()))
