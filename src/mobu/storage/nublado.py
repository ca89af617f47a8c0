"""The ``nublado`` hub flavour's client: ``rubin-nublado-client`` behind mobu's hub interface.

:class:`NubladoHub` wraps one :class:`~rubin.nublado.client.NubladoClient` (a browser-like
client: bearer token, cookies, XSRF, the spawn form, the OAuth hop into the lab) and answers the
calls the lab-cycle helper makes of a hub client (``is_stopped``, ``spawn``, ``progress``,
``stop``), so the helper's timings, timeouts, stops and events stay as they are. The library's
errors become mobu's :class:`~mobu.storage.jupyter.JupyterError` family (with their message,
which names the method and URL but never a token). The hub URL is the library's own lookup in
Repertoire (``ui.nublado``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from contextlib import aclosing
from datetime import timedelta
from typing import Any

from rubin.nublado.client import (
    NubladoClient,
    NubladoError,
    NubladoExecutionError,
    NubladoImage,
    NubladoImageByClass,
    NubladoImageByReference,
    NubladoImageByTag,
    NubladoImageClass,
    NubladoImageSize,
    NubladoWebError,
)
from rubin.repertoire import DiscoveryClient, RepertoireError

from mobu.models.business.nublado import NubladoImage as ImageOption
from mobu.storage.jupyter import (
    CodeExecutionError,
    JupyterError,
    JupyterWebError,
    SpawnProgress,
    strip_ansi,
)

__all__ = ["NubladoHub", "library_image", "translate_error"]


def library_image(image: ImageOption | None) -> NubladoImage:
    """The library's image selector for mobu's ``image`` option (default recommended, Large)."""
    if image is None:
        return NubladoImageByClass()
    size = NubladoImageSize(image.size)
    if image.image_class == "by-reference":
        return NubladoImageByReference(reference=str(image.reference), size=size, debug=image.debug)
    if image.image_class == "by-tag":
        return NubladoImageByTag(tag=str(image.tag), size=size, debug=image.debug)
    chosen = NubladoImageClass(image.image_class)
    return NubladoImageByClass(image_class=chosen, size=size, debug=image.debug)


def translate_error(exc: NubladoError | RepertoireError, code: str | None = None) -> JupyterError:
    """Mobu's error for a library error (the message is the library's, tokens never in it)."""
    if isinstance(exc, NubladoExecutionError):
        traceback = strip_ansi(exc.error) if exc.error else None
        return CodeExecutionError(
            "Code raised in the kernel",
            code=code or exc.code or "",
            status=exc.status or "error",
            traceback=traceback,
        )
    if isinstance(exc, NubladoWebError):
        return JupyterWebError(
            exc.message,
            method=exc.method or "?",
            url=exc.url or "?",
            status=exc.status,
            body=exc.body,
        )
    return JupyterError(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")


async def _call[T](call: Awaitable[T]) -> T:
    try:
        return await call
    except (NubladoError, RepertoireError) as exc:
        raise translate_error(exc) from exc


class NubladoHub:
    """One monkey's Nublado client, answering as mobu's hub client.

    Parameters
    ----------
    username
        The monkey's user.
    token
        Its Gafaelfawr token.
    discovery
        Repertoire client (the library finds the hub there).
    timeout
        Timeout of each HTTP call.
    image
        The ``image`` option (spawned through the Nublado spawn form).
    """

    def __init__(
        self,
        username: str,
        token: str,
        *,
        discovery: DiscoveryClient,
        timeout: timedelta,
        image: ImageOption | None,
    ) -> None:
        self.username = username
        self.client = NubladoClient(username, token, discovery_client=discovery, timeout=timeout)
        self.image = library_image(image)

    async def login(self) -> None:
        """Log in to the hub afresh (new cookies and XSRF tokens), as the reference does."""
        await _call(self.client.auth_to_hub())

    async def is_stopped(self, username: str) -> bool:
        """Whether the user's lab is gone."""
        return await _call(self.client.is_lab_stopped())

    async def spawn(self, username: str, options: dict[str, Any]) -> bool:
        """Log in and post the spawn form; never ready at once (follow :meth:`progress`)."""
        await self.login()
        await _call(self.client.spawn_lab(self.image))
        return False

    async def progress(self, username: str) -> AsyncIterator[SpawnProgress]:
        """The spawn progress stream, as mobu's progress events."""
        try:
            async with aclosing(self.client.watch_spawn_progress()) as stream:
                async for event in stream:
                    yield SpawnProgress(
                        progress=event.progress, message=event.message, ready=event.ready
                    )
        except (NubladoError, RepertoireError) as exc:
            raise translate_error(exc) from exc

    async def stop(self, username: str) -> None:
        """Log in again and ask the hub to stop the lab (nothing if it is stopped)."""
        await self.login()
        await _call(self.client.stop_lab())

    async def aclose(self) -> None:
        """Close the library client's connection pool."""
        await self.client.aclose()
