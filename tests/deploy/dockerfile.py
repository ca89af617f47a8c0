"""A small Dockerfile reader for the image tests: stages and their instructions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"

CHART_COMMAND = ["mobu", "serve", "--host", "0.0.0.0", "--port", "8080"]
"""What the chart's pod runs (the image's CMD): the test of the pod runs the same argv, with
``--host`` and ``--port`` replaced by a loopback address and a free port."""


@dataclass
class Instruction:
    """One instruction: its keyword (upper case) and its arguments as written."""

    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON (exec) form of CMD/ENTRYPOINT (raises ValueError for the shell form)."""
        value = json.loads(self.arguments)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{self.keyword} is not in exec form: {self.arguments}")
        return value


@dataclass
class Stage:
    """One ``FROM`` and what follows it."""

    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        """The instructions with this keyword, in order."""
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        """The instruction with this keyword that takes effect (the last one)."""
        found = self.all(keyword)
        return found[-1] if found else None


def parse(text: str) -> list[Stage]:
    """Split a Dockerfile into stages (comments dropped, continuation lines joined)."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", arguments.strip(), re.I)
            assert match is not None, line
            stages.append(Stage(base=match.group(1), name=match.group(2)))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append(Instruction(keyword, arguments.strip()))
    return stages
