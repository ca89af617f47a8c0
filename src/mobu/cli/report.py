"""Writing a flock report: each monkey's log and status into a directory."""

from __future__ import annotations

import json
from pathlib import Path

from mobu.client import MobuClient, MobuClientError

__all__ = ["write_report"]


async def write_report(client: MobuClient, flock: str, output: Path) -> list[Path]:
    """Write ``<monkey>_log.txt`` and ``<monkey>_stats.json`` for every monkey of ``flock``.

    Returns the files written. Logs are skipped when the server does not keep them
    (``log_monkeys_to_file: false``).
    """
    output.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any request
    data = await client.get_flock(flock)
    written = []
    for monkey in data.monkeys:
        log_path = output / f"{monkey.name}_log.txt"
        try:
            await client.download_monkey_log(flock, monkey.name, log_path)
        except MobuClientError as exc:
            if not any(d.get("type") == "mobu_not_retaining_logs" for d in exc.detail):
                raise
            log_path.unlink(missing_ok=True)  # a local file, no I/O wait
        else:
            written.append(log_path)
        stats_path = output / f"{monkey.name}_stats.json"
        stats = monkey.model_dump(mode="json", exclude_none=True)
        stats_path.write_text(json.dumps(stats, indent=4, sort_keys=True) + "\n", encoding="utf-8")
        written.append(stats_path)
    return written
