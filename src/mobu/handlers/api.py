"""Routes of the API that are not about one flock: index, summary, solitary runs, businesses."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError

from fastapi import APIRouter, Depends, Response
from safir.metadata import get_metadata

from mobu.dependencies.context import context_dependency
from mobu.factory import ProcessContext
from mobu.handlers.responses import INVALID, PrettyJSONResponse, pretty
from mobu.models.api import (
    AutostartFailureData,
    BusinessDescription,
    Index,
    IndexHistory,
    Metadata,
    Summary,
)
from mobu.models.solitary import SolitaryConfig, SolitaryResult
from mobu.services.solitary import run_solitary

__all__ = ["DESCRIPTION", "metadata", "router"]

DESCRIPTION = "Simulated users of a science platform, for monitoring and load testing"

router = APIRouter()


def metadata(name: str) -> Metadata:
    """Return the application metadata (safir's: version, description and URLs of the package)."""
    try:
        found = get_metadata(package_name="mobu", application_name=name)
    except PackageNotFoundError:
        return Metadata(name=name, version="0.0.0", description=DESCRIPTION)
    return Metadata(
        name=name,
        version=found.version,
        description=found.description or DESCRIPTION,
        repository_url=found.repository_url,
        documentation_url=found.documentation_url,
    )


@router.get(
    "/", response_model=Index, response_class=PrettyJSONResponse, summary="Application metadata"
)
async def get_index(context: ProcessContext = Depends(context_dependency)) -> Response:
    config = context.config
    history = IndexHistory(enabled=False)
    if context.history is not None:
        status = context.history.status()
        history = IndexHistory(
            enabled=True, store=status.store, path=status.path, connected=status.connected
        )
    index = Index(
        metadata=metadata(config.name),
        data_dir=str(config.data_dir),
        history=history,
        dashboard=f"{config.path_prefix.rstrip('/')}/ui",
    )
    return pretty(index)


@router.get(
    "/summary",
    response_model=Summary,
    response_class=PrettyJSONResponse,
    summary="Summary of every flock, with the flocks that failed to autostart",
)
async def get_summary(context: ProcessContext = Depends(context_dependency)) -> Response:
    manager = context.manager
    failures: list[AutostartFailureData] = [
        AutostartFailureData(name=f.name, error=f.error) for f in manager.autostart_failures
    ]
    ci = None if context.github.ci is None else context.github.ci.summarize()
    group = context.replicas  # a replica group: every replica's flocks and failures, merged
    flocks = manager.summarize_flocks() if group is None else await group.summaries()
    if group is not None:
        failures = list(await group.autostart_failures())
    summary = Summary(flocks=flocks, autostart_failures=failures, ci_manager=ci)
    return pretty(summary, serialize_as_any=group is not None)


@router.post(
    "/run",
    response_model=SolitaryResult,
    response_class=PrettyJSONResponse,
    summary="Run a business once (200 also when the business fails)",
    responses=INVALID,
)
async def post_run(
    config: SolitaryConfig, context: ProcessContext = Depends(context_dependency)
) -> Response:
    result = await run_solitary(config, builder=context.builder, identity=context.identity)
    return pretty(result)


@router.get(
    "/businesses",
    response_model=list[BusinessDescription],
    response_class=PrettyJSONResponse,
    summary="Business types with the JSON schema of their options",
)
async def list_businesses(context: ProcessContext = Depends(context_dependency)) -> Response:
    return pretty([BusinessDescription.model_validate(d) for d in context.registry.describe()])
