"""Base of the IVOA businesses (TAP, SIA): one pyvo service, its HTTP session and threads.

pyvo is blocking, so every call runs in the business's own worker threads
(:class:`mobu.storage.vo.BlockingCalls`) under :meth:`Business.interruptible`: a stop or the
``query_timeout`` ends the wait at once whatever the server does. Each business has its own
requests session (with the monkey's token and a socket timeout), renewed at every startup.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import timedelta
from typing import Any, ClassVar, Generic, Literal, TypeVar, override

import requests
from pydantic import Field, ValidationInfo, field_validator
from structlog.typing import FilteringBoundLogger

from mobu.discovery import Discovery, DiscoveryError
from mobu.events import Events
from mobu.exceptions import BusinessError
from mobu.models.business.base import BusinessData, BusinessOptions
from mobu.models.timedelta import HumanTimedelta
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import Business, StopRequestedError
from mobu.storage.vo import BlockingCalls, make_session

__all__ = [
    "SOCKET_SLACK",
    "VOBusiness",
    "VOBusinessData",
    "VOBusinessOptions",
    "failure_reason",
]

SOCKET_SLACK = 10.0
"""Seconds added to ``query_timeout`` for the socket timeout of pyvo's requests."""


class VOBusinessOptions(BusinessOptions):
    """Options every IVOA business has: which dataset's service, and how long a query may take."""

    dataset: str = Field(
        ..., min_length=1, description="Dataset whose service is queried (a key of discovery)"
    )
    query_timeout: HumanTimedelta = Field(
        timedelta(minutes=5), description="Longest time a query may take", examples=[60, "2m"]
    )

    @field_validator("query_timeout", mode="before")
    @classmethod
    def _null_timeout(cls, value: Any, info: ValidationInfo) -> Any:
        """The reference's ``query_timeout: null`` (no limit) means the default here."""
        if value is None and info.field_name is not None:
            return cls.model_fields[info.field_name].default
        return value


class VOBusinessData(BusinessData):
    """Status of an IVOA business: the query it is running."""

    running_query: str | dict[str, Any] | None = Field(
        None, description="The query being run (ADQL text, or SIA parameters)"
    )


def failure_reason(exc: BaseException, timeout: float) -> str:
    """Why a query failed, for its error message: a timeout, or the exception's type and text."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    return f"{type(exc).__name__}: {exc}"


OptionsT = TypeVar("OptionsT", bound=VOBusinessOptions)


class VOBusiness(Business[OptionsT], Generic[OptionsT]):
    """A business that queries one IVOA service of a dataset through pyvo.

    Subclasses set :attr:`service_kind` and :attr:`client_error` and build the pyvo client in
    :meth:`make_service`; :meth:`startup` finds the service and builds it (:attr:`service`).

    Parameters
    ----------
    discovery
        Service discovery: gives the dataset's service URL.
    """

    service_kind: ClassVar[Literal["tap", "sia"]]
    """Which service of the dataset (``tap`` or ``sia``)."""

    client_error: ClassVar[type[BusinessError]]
    """Raised when the service cannot be found or reached at startup."""

    def __init__(
        self,
        *,
        options: OptionsT,
        user: AuthenticatedUser,
        events: Events,
        logger: FilteringBoundLogger,
        flock: str | None,
        discovery: Discovery,
    ) -> None:
        super().__init__(options=options, user=user, events=events, logger=logger, flock=flock)
        self._discovery = discovery
        self._calls = BlockingCalls(f"{self.service_kind}-{user.username}")
        self._timeout = options.query_timeout.total_seconds()
        self._session = make_session(user.token, self._timeout + SOCKET_SLACK)
        self.service: Any = None
        self.url: str | None = None
        self.running_query: str | dict[str, Any] | None = None

    @abstractmethod
    def make_service(self, url: str) -> Any:
        """Build the pyvo client of ``url`` on :attr:`session` (runs in a worker thread)."""

    @property
    def session(self) -> requests.Session:
        """The requests session of this business's pyvo calls."""
        return self._session

    @override
    async def startup(self) -> None:
        self._session.close()
        self._session = make_session(self.user.token, self._timeout + SOCKET_SLACK)
        self.url, self.service = await self.open_vo_service()

    async def open_vo_service(self) -> tuple[str, Any]:
        """Find the service URL of the dataset and build its pyvo client.

        The client is built in the worker threads under :meth:`Business.interruptible`, so a
        stop or ``query_timeout`` ends the wait at once.

        Raises
        ------
        BusinessError
            Of type :attr:`client_error`: the service is not in discovery, did not answer within
            ``query_timeout``, or the client could not be built.
        StopRequestedError
            The business was told to stop.
        """
        kind, dataset, timeout = self.service_kind, self.options.dataset, self.options.query_timeout
        label = kind.upper()
        try:
            url = self._discovery.dataset_url(dataset, kind)
        except DiscoveryError as exc:
            raise self.client_error(f"{label} service not found: {exc}", dataset=dataset) from exc
        self.logger.info("Connecting to service", service=kind, url=url, dataset=dataset)
        try:
            async with self.interruptible(timeout):
                return url, await self._calls.run(self.make_service, url)
        except StopRequestedError:
            raise
        except TimeoutError as exc:
            raise self.client_error(
                f"Unable to create {label} client: no answer from {url}"
                f" within {timeout.total_seconds():g} s",
                dataset=dataset,
                url=url,
            ) from exc
        except Exception as exc:
            raise self.client_error(
                f"Unable to create {label} client: {type(exc).__name__}: {exc}",
                dataset=dataset,
                url=url,
            ) from exc

    @override
    async def close(self) -> None:
        self._session.close()

    @override
    def dump(self) -> VOBusinessData:
        return VOBusinessData(**super().dump().model_dump(), running_query=self.running_query)
