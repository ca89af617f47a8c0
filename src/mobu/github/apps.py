"""Both GitHub apps as the webhook routes use them: verify, check the organisation, dispatch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel, Field
from structlog.typing import FilteringBoundLogger

from mobu.github.checks import GitHubClients, RepoRef
from mobu.github.ci import CiManager, CiTrigger
from mobu.github.cijob import CiRunner
from mobu.github.config import GitHubCiAppConfig, GitHubRefreshAppConfig
from mobu.github.notebookcheck import NotebookCheck
from mobu.github.refresh import RefreshApp
from mobu.github.webhooks import (
    CheckRunEvent,
    CheckSuiteEvent,
    Delivery,
    PullRequestEvent,
    PushEvent,
    RepositoryModel,
    parse_delivery,
)
from mobu.identity import IdentityProvider
from mobu.services.builder import MonkeyBuilder
from mobu.services.manager import FlockManager
from mobu.services.resources import BusinessServices

__all__ = ["GitHubApps", "WebhookAnswer", "build_github_apps"]

PR_ACTIONS = frozenset({"opened", "synchronize", "reopened"})
SUITE_ACTIONS = frozenset({"requested", "rerequested"})


class WebhookAnswer(BaseModel):
    """What a webhook delivery did."""

    status: str = Field(..., description="accepted or ignored")
    reason: str | None = Field(None, description="Why it was ignored")
    refreshed: list[str] | None = Field(None, description="Flocks refreshed (refresh app)")
    job: int | None = Field(None, description="CI job queued (CI app)")
    check_run_id: int | None = Field(None, description="Check run of the CI job")

    @property
    def status_code(self) -> int:
        """202 for an accepted delivery, 200 for an ignored one."""
        return 202 if self.status == "accepted" else 200


def _ignored(reason: str) -> WebhookAnswer:
    return WebhookAnswer(status="ignored", reason=reason)


def _repo(model: RepositoryModel) -> RepoRef:
    return RepoRef(
        owner=model.owner.login,
        name=model.name,
        clone_url=model.clone_url,
        html_url=str(model.html_url),
    )


@dataclass(kw_only=True)
class GitHubApps:
    """The configured apps (either may be off) and their secrets."""

    logger: FilteringBoundLogger
    refresh_config: GitHubRefreshAppConfig | None = None
    refresh: RefreshApp | None = None
    ci_config: GitHubCiAppConfig | None = None
    ci: CiManager | None = None
    _entered: list[CiManager] = field(default_factory=list)

    async def __aenter__(self) -> Self:
        if self.ci is not None:
            await self.ci.__aenter__()
            self._entered.append(self.ci)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        while self._entered:
            await self._entered.pop().__aexit__(exc_type, exc, tb)

    def _verify(
        self, app: str, secret: Any, orgs: list[str], headers: Mapping[str, str], body: bytes
    ) -> tuple[Delivery, FilteringBoundLogger, WebhookAnswer | None]:
        delivery = parse_delivery(headers, body, secret.get_secret_value())
        logger = self.logger.bind(github_app=app, github_delivery=delivery.delivery_id)
        if not delivery.accepted(orgs):
            logger.info("Ignoring webhook from an organisation not accepted", org=delivery.org)
            return delivery, logger, _ignored("organisation not accepted")
        return delivery, logger, None

    async def refresh_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        """Handle a delivery to the refresh app.

        Raises
        ------
        InvalidSignatureError, InvalidWebhookError
            Bad signature (nothing happens), or a signed delivery that is not a webhook.
        """
        assert self.refresh is not None
        assert self.refresh_config is not None
        config = self.refresh_config
        delivery, logger, ignored = self._verify(
            "refresh", config.webhook_secret, config.accepted_github_orgs, headers, body
        )
        if ignored is not None:
            return ignored
        if delivery.event != "push":
            logger.debug("Ignoring event", github_event=delivery.event)
            return _ignored(f"event {delivery.event} not handled")
        push = delivery.parse(PushEvent)
        refreshed = self.refresh.handle_push(push, logger)
        return WebhookAnswer(status="accepted", refreshed=refreshed)

    async def ci_webhook(self, headers: Mapping[str, str], body: bytes) -> WebhookAnswer:
        """Handle a delivery to the CI app: queue a job for a PR or check suite/run event.

        Raises
        ------
        InvalidSignatureError, InvalidWebhookError
            Bad signature (nothing happens), or a signed delivery that is not a webhook.
        GitHubApiError
            The check run could not be created.
        CiShuttingDownError
            Mobu is stopping.
        """
        assert self.ci is not None
        assert self.ci_config is not None
        config = self.ci_config
        delivery, logger, ignored = self._verify(
            "ci", config.webhook_secret, config.accepted_github_orgs, headers, body
        )
        if ignored is not None:
            return ignored
        trigger = self._trigger(delivery)
        if trigger is None:
            logger.debug("Ignoring event", github_event=delivery.event)
            return _ignored(f"event {delivery.event} not handled")
        job = await self.ci.enqueue(trigger)
        return WebhookAnswer(status="accepted", job=job.id, check_run_id=job.check.id)

    def _trigger(self, delivery: Delivery) -> CiTrigger | None:
        """The job a delivery asks for; without a pull request, the commits since the suite's
        ``before`` (a push) or else since the default branch are compared."""
        action = delivery.data.get("action")
        if delivery.event == "pull_request" and action in PR_ACTIONS:
            pr = delivery.parse(PullRequestEvent)
            return CiTrigger(
                installation_id=pr.installation.id,
                repo=_repo(pr.repository),
                head_sha=pr.pull_request.head.sha,
                pull_number=pr.number,
            )
        if delivery.event == "check_suite" and action in SUITE_ACTIONS:
            suite = delivery.parse(CheckSuiteEvent)
            return _suite_trigger(
                suite.installation.id,
                suite.repository,
                suite.check_suite.head_sha,
                [p.number for p in suite.check_suite.pull_requests],
                delivery.data.get("check_suite"),
            )
        if delivery.event == "check_run" and action == "rerequested":
            run = delivery.parse(CheckRunEvent)
            if self.ci is None or run.check_run.name != self.ci.check_name:
                return None
            check_run = delivery.data.get("check_run")
            return _suite_trigger(
                run.installation.id,
                run.repository,
                run.check_run.head_sha,
                [p.number for p in run.check_run.pull_requests],
                check_run.get("check_suite") if isinstance(check_run, dict) else None,
            )
        return None


def _suite_trigger(
    installation_id: int,
    repository: RepositoryModel,
    head_sha: str,
    pulls: list[int],
    suite: object,
) -> CiTrigger:
    """A check suite's (or its check run's) job: its pull request's files, or a compare."""
    before = suite.get("before") if isinstance(suite, dict) else None
    usable = isinstance(before, str) and before.strip("0") and before != head_sha
    return CiTrigger(
        installation_id=installation_id,
        repo=_repo(repository),
        head_sha=head_sha,
        pull_number=pulls[0] if pulls else None,
        base_sha=before if usable else repository.default_branch,
    )


def build_github_apps(
    *,
    refresh: GitHubRefreshAppConfig | None,
    ci: GitHubCiAppConfig | None,
    environment_name: str | None,
    manager: FlockManager,
    builder: MonkeyBuilder,
    identity: IdentityProvider,
    services: BusinessServices,
    logger: FilteringBoundLogger,
) -> GitHubApps:
    """Build the configured apps (none configured: both off, no route serves them)."""
    apps = GitHubApps(logger=logger, refresh_config=refresh, ci_config=ci)
    if refresh is not None:
        apps.refresh = RefreshApp(manager=manager, logger=logger)
    if ci is not None:
        assert ci.id is not None
        assert ci.private_key is not None
        assert services.repo_cache is not None
        assert services.discovery is not None
        clients = GitHubClients(
            id=ci.id,
            key=ci.private_key.get_secret_value(),
            name="lsst-sqre/mobu",
            http_client=services.http_client,
            base_url=ci.api_url,
        )
        check = NotebookCheck(
            builder=builder,
            identity=identity,
            repo_cache=services.repo_cache,
            discovery=services.discovery,
            scopes=ci.scopes,
            options=dict(ci.options),
            timeout=ci.timeout,
            logger=logger,
        )
        runner = CiRunner(clients=clients, check=check)
        name = f"Mobu ({environment_name})" if environment_name else "Mobu"
        apps.ci = CiManager(runner=runner, users=ci.users, check_name=name, logger=logger)
    return apps
