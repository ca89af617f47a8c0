"""Texts of Slack messages: failure alerts, repeats, recoveries, API errors, daily status.

The Block Kit structure is safir's (:class:`safir.slack.blockkit.SlackMessage` and its fields
and blocks: verbatim text, ``&``/``<``/``>`` escaped so that nothing in an error can mention
a channel or a user, Slack's length limits kept). Each message also carries ``text``, the plain
fallback that notifications and mobile previews show (unchanged from earlier versions).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from safir.slack.blockkit import (
    SlackBaseBlock,
    SlackBaseField,
    SlackCodeBlock,
    SlackMessage,
    SlackTextField,
)

from mobu.alerts.reporting import FailureReport
from mobu.models.flock import FlockSummary
from mobu.redaction import redact_text, strip_ansi

__all__ = [
    "format_api_error",
    "format_failure",
    "format_recovery",
    "format_repeat",
    "format_status",
    "human_duration",
    "plural",
    "success_percent",
    "truncate_head",
    "truncate_tail",
]

_BLOCK_TEXT_MAX = 2900
"""Slack rejects section texts over 3000 characters."""

_LONG_KEYS = ("code", "output", "traceback", "error", "spawn_log", "progress")
_SKIPPED_KEYS = frozenset(_LONG_KEYS) | {"notebook", "cell", "cell_id"}


def plural(count: int, word: str) -> str:
    """``1 monkey``, ``2 monkeys``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def truncate_head(text: str, limit: int) -> str:
    """Keep the beginning of ``text`` (code: its first lines tell what it is)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()}\n… ({len(text) - limit} more characters)"


def truncate_tail(text: str, limit: int) -> str:
    """Keep the end of ``text`` (tracebacks and output: the end says what failed)."""
    if len(text) <= limit:
        return text
    return f"({len(text) - limit} characters before) …\n{text[-limit:].lstrip()}"


def human_duration(delta: timedelta) -> str:
    """``1h 5m``, ``3m 20s``, ``12s``."""
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


def _clean(value: Any, secrets: Iterable[str], limit: int | None = None) -> str:
    text = redact_text(strip_ansi(str(value)), secrets)
    return text if limit is None else truncate_head(text, limit)


def _message(
    text: str,
    fallback: str,
    fields: Iterable[SlackBaseField] = (),
    blocks: Iterable[SlackBaseBlock] = (),
) -> dict[str, Any]:
    """The webhook body: safir's Block Kit rendering of ``text``, plus the ``fallback`` text."""
    message = SlackMessage(message=text[:_BLOCK_TEXT_MAX], fields=list(fields), blocks=list(blocks))
    return {"text": fallback, **message.to_slack()}


def error_text(error: BaseException, secrets: Iterable[str]) -> str:
    """``Type: message``, redacted, without terminal escapes."""
    message = str(error)
    name = type(error).__name__
    return _clean(f"{name}: {message}" if message else name, secrets)


def format_failure(report: FailureReport, code_max_chars: int) -> dict[str, Any]:
    """The alert for one monkey failure: who, what, and for notebooks where."""
    secrets = report.secrets
    context = report.context
    flock = report.flock or "(solitary)"
    error = truncate_tail(error_text(report.error, secrets), code_max_chars)
    text = f":rotating_light: Monkey failure in flock *{flock}*: {error}"
    facts = [
        ("Flock", flock),
        ("Monkey", report.monkey),
        ("Business", report.business),
        ("Error type", type(report.error).__name__),
    ]
    if context.get("notebook"):
        facts.append(("Notebook", context["notebook"]))
    cell = context.get("cell") or context.get("cell_id")
    if cell:
        facts.append(("Cell", cell))
    facts.extend(
        (key.replace("_", " ").capitalize(), value)
        for key, value in sorted(context.items())
        if key not in _SKIPPED_KEYS and value is not None and not isinstance(value, dict | list)
    )
    fields = [
        SlackTextField(heading=name, text=_clean(value, secrets, 300)) for name, value in facts
    ]
    blocks: list[SlackBaseBlock] = []
    fallback = [text, *(f"{n}: {_clean(v, secrets, 300)}" for n, v in facts)]
    if context.get("code"):
        code = truncate_head(_clean(context["code"], secrets), code_max_chars)
        blocks.append(SlackCodeBlock(heading="Code", code=code))
        fallback.append(f"Code:\n{code}")
    output = context.get("output") or context.get("traceback") or context.get("error")
    if output:
        tail = truncate_tail(_clean(output, secrets), code_max_chars)
        blocks.append(SlackCodeBlock(heading="Output", code=tail))
        fallback.append(f"Output:\n{tail}")
    progress = context.get("progress") or context.get("spawn_log")
    if progress:
        if isinstance(progress, list | tuple):
            progress = "\n".join(str(p) for p in progress)
        tail = truncate_tail(_clean(progress, secrets), code_max_chars)
        blocks.append(SlackCodeBlock(heading="Spawn progress", code=tail))
        fallback.append(f"Spawn progress:\n{tail}")
    return _message(text, "\n".join(fallback), fields[:10], blocks)


def _cause(flock: str, error_type: str, notebook: str | None, cell: str | None) -> str:
    where = f" in notebook {notebook}" if notebook else ""
    if cell:
        where += f", cell {cell}"
    return f"flock *{flock}*: {error_type}{where}"


def format_repeat(
    flock: str,
    error_type: str,
    notebook: str | None,
    cell: str | None,
    count: int,
    window: timedelta,
) -> dict[str, Any]:
    """Failures that were not alerted individually because they had the same root cause."""
    text = (
        f":repeat: Still failing: {_cause(flock, error_type, notebook, cell)}:"
        f" {plural(count, 'more failure')} in the last {human_duration(window)}"
    )
    return _message(text, text)


def format_recovery(
    flock: str,
    business: str,
    error_type: str,
    notebook: str | None,
    cell: str | None,
    failures: int,
    since: datetime,
    now: datetime,
) -> dict[str, Any]:
    """A flock with an open alert succeeded again."""
    text = (
        f":white_check_mark: Recovered: flock *{flock}* ({business}) succeeds again after"
        f" {plural(failures, 'failure')} of {error_type}"
        + (f" in notebook {notebook}" if notebook else "")
        + (f", cell {cell}" if cell else "")
        + f" over {human_duration(now - since)}"
    )
    return _message(text, text)


def format_api_error(
    method: str, path: str, error: BaseException, max_chars: int
) -> dict[str, Any]:
    """An uncaught exception in a REST API handler."""
    summary = error_text(error, ())
    text = f":x: Uncaught exception in the mobu API: {method} {path}: {summary}"
    trace = "".join(traceback.format_exception(error))
    tail = truncate_tail(redact_text(strip_ansi(trace)), max_chars)
    return _message(
        text, f"{text}\n{tail}", blocks=[SlackCodeBlock(heading="Traceback", code=tail)]
    )


def success_percent(successes: int, failures: int) -> str:
    """Success percentage with two decimals; never 100.00 when something failed."""
    total = successes + failures
    if total == 0:
        return "100.00"
    text = f"{100 * successes / total:.2f}"
    if failures and text == "100.00":
        return "99.99"
    return text


def format_status(summaries: list[FlockSummary], environment: str | None) -> dict[str, Any] | None:
    """The daily status: one line per flock; None when there is no flock."""
    if not summaries:
        return None
    against = f" against {environment}" if environment else ""
    lines = [f"Currently running {plural(len(summaries), 'flock')}{against}:"]
    for summary in summaries:
        monkeys = plural(summary.monkey_count, "monkey")
        if summary.start_time is None:
            lines.append(f"• *{summary.name}*: {monkeys} (not started)")
            continue
        started = summary.start_time.strftime("%Y-%m-%d")
        percent = success_percent(summary.success_count, summary.failure_count)
        lines.append(
            f"• *{summary.name}*: {monkeys} started {started} with"
            f" {plural(summary.failure_count, 'failure')} ({percent}% success)"
        )
    text = "\n".join(lines)
    return _message(text, text)
