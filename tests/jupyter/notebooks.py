"""Notebook JSON for the tests."""

from __future__ import annotations

import json
from typing import Any


def notebook(*cells: str | tuple[str, str], metadata: dict[str, Any] | None = None) -> str:
    """A notebook whose cells are code strings, or (``"markdown"``, text) pairs."""
    out = []
    for i, cell in enumerate(cells, start=1):
        kind, text = ("code", cell) if isinstance(cell, str) else cell
        entry: dict[str, Any] = {"cell_type": kind, "id": f"c{i}", "metadata": {}, "source": text}
        if kind == "code":
            entry.update(outputs=[], execution_count=None)
        out.append(entry)
    return json.dumps(
        {"cells": out, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}
    )
