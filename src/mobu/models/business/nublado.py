"""Options of the Jupyter (Nublado) businesses: lab spawning, sessions, code execution."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mobu.models.business.base import BusinessData, BusinessOptions
from mobu.models.timedelta import HumanTimedelta

__all__ = [
    "MAX_EXECUTIONS",
    "NubladoBusinessData",
    "NubladoBusinessOptions",
    "NubladoImage",
    "NubladoPythonLoopOptions",
]

MAX_EXECUTIONS = 100_000
"""Most code executions (or notebooks) per lab session."""

ImageSize = Literal[
    "Fine", "Diminutive", "Tiny", "Small", "Medium", "Large", "Huge", "Gargantuan", "Colossal"
]


class NubladoImage(BaseModel):
    """Nublado's lab image selector, kept for compatibility and mapped to user options.

    ``{"class": "recommended", "size": "Large"}`` becomes the spawn options
    ``{"image_class": ["recommended"], "size": ["Large"]}``; ``by-reference`` gives
    ``image_list``, ``by-tag`` gives ``image_tag``; ``debug`` adds ``enable_debug``.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    image_class: Literal[
        "recommended", "latest-release", "latest-weekly", "latest-daily", "by-reference", "by-tag"
    ] = Field("recommended", alias="class", description="How the image is chosen")
    reference: str | None = Field(None, description="Docker reference (class by-reference)")
    tag: str | None = Field(None, description="Image tag (class by-tag)")
    size: ImageSize = Field("Large", description="Lab size")
    debug: bool = Field(False, description="Start the lab with debugging enabled")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.image_class == "by-reference" and not self.reference:
            raise ValueError("image class by-reference needs reference")
        if self.image_class == "by-tag" and not self.tag:
            raise ValueError("image class by-tag needs tag")
        return self

    def to_user_options(self) -> dict[str, list[str]]:
        """Spawn options in the form-field shape Nublado's spawner reads."""
        options: dict[str, list[str]] = {"size": [self.size]}
        if self.image_class == "by-reference":
            options["image_list"] = [str(self.reference)]
        elif self.image_class == "by-tag":
            options["image_tag"] = [str(self.tag)]
        else:
            options["image_class"] = [self.image_class]
        if self.debug:
            options["enable_debug"] = ["true"]
        return options


class NubladoBusinessOptions(BusinessOptions):
    """Options shared by every business that runs code in a JupyterHub lab."""

    delete_lab: bool = Field(
        True, description="Delete the lab after every iteration (false: reuse it)"
    )
    delete_timeout: HumanTimedelta = Field(
        timedelta(seconds=60), description="How long to wait for a deleted lab to go away"
    )
    execution_idle_time: HumanTimedelta = Field(
        timedelta(seconds=1), description="Pause after each code execution or notebook cell"
    )
    execution_timeout: HumanTimedelta | None = Field(
        timedelta(minutes=5),
        description="Longest time one code execution (or cell) may take; null for no limit",
    )
    get_node: bool = Field(
        True, description="Record the node the lab runs on (KUBERNETES_NODE_NAME or hostname)"
    )
    image: NubladoImage | None = Field(
        None, description="Nublado image selector, mapped to spawn user options"
    )
    user_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Spawn options sent to the hub (win over those mapped from image)",
        examples=[{"profile": "small"}],
    )
    jitter: HumanTimedelta = Field(
        timedelta(0), description="Random delay before the first hub call, added to each idle"
    )
    jupyter_timeout: HumanTimedelta = Field(
        timedelta(seconds=60), description="Timeout of each HTTP call to the hub or the lab"
    )
    max_websocket_message_size: int | None = Field(
        None,
        strict=True,
        ge=1024,
        le=1 << 30,
        description="Largest kernel websocket message accepted (at most 1 GiB); null: no limit",
    )
    spawn_settle_time: HumanTimedelta = Field(
        timedelta(seconds=10), description="Pause after the spawn request before reading progress"
    )
    spawn_timeout: HumanTimedelta = Field(
        timedelta(seconds=610), description="Whole spawn budget, settle time included"
    )
    url_prefix: str = Field(
        "/nb/", description="Ignored (the hub URL comes from discovery.services.hub)"
    )
    working_directory: str | None = Field(
        None, description="Directory the kernel changes to after the session opens"
    )
    kernel_name: str = Field(
        "python3", description="Kernel spec of the sessions (nublado flavour: default lsst)"
    )
    hub_flavour: Literal["jupyterhub", "nublado"] | None = Field(
        None,
        description="Hub client: jupyterhub (hub API tokens) or nublado (rubin-nublado-client);"
        " default nublado with Repertoire discovery, else jupyterhub",
    )
    websocket_protocol: Literal["auto", "v1", "legacy"] = Field(
        "auto", description="Kernel websocket framing: v1 binary, legacy JSON, or server's choice"
    )

    @model_validator(mode="after")
    def _check_spawn(self) -> Self:
        if self.spawn_settle_time >= self.spawn_timeout:
            raise ValueError("spawn_settle_time must be shorter than spawn_timeout")
        return self

    def spawn_options(self) -> dict[str, Any]:
        """User options of the spawn request."""
        options: dict[str, Any] = self.image.to_user_options() if self.image else {}
        options.update(self.user_options)
        return options


class NubladoPythonLoopOptions(NubladoBusinessOptions):
    """Options of NubladoPythonLoop."""

    code: str = Field(
        'print(2+2, end="")', description="Python code to run", examples=["print(2+2)"]
    )
    max_executions: int = Field(
        25,
        strict=True,
        ge=1,
        le=MAX_EXECUTIONS,
        description="Executions per lab session before the lab is recycled",
    )


class NubladoBusinessData(BusinessData):
    """Status of a business that runs code in a lab: where its lab runs and its last timings."""

    image: dict[str, str | None] | None = Field(
        None, description="Reference and description of the lab's image, once known"
    )
    node: str | None = Field(None, description="Node the lab runs on, once known")
    phase: str | None = Field(None, description="Current (or last) phase of the lab cycle")
    timings: dict[str, float] = Field(
        default_factory=dict, description="Last duration (seconds) of each phase"
    )
