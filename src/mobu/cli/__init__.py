"""The ``mobu`` command: serve the API, run a business once, drive a server's flocks.

Every option can also be given as an environment variable: the explicit ones are listed in
``--help`` (``MOBU_URL``, ``MOBU_TOKEN``, ``MOBU_CONFIG_PATH``, ...), the others follow click's
``MOBU_<COMMAND>_<OPTION>`` scheme (e.g. ``MOBU_FLOCK_REPORT_OUTPUT=DIR``).
"""

from __future__ import annotations

import click

from mobu.cli.ci import ci
from mobu.cli.common import MobuGroup, debug_option
from mobu.cli.demo import demo
from mobu.cli.flock import flock
from mobu.cli.loadtest import capacity, loadtest
from mobu.cli.run import run
from mobu.cli.serve import serve

__all__ = ["main", "mobu"]


@click.group(cls=MobuGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mobu")
@debug_option
def mobu(debug: bool) -> None:
    """Simulated users (monkeys) of a science platform, for monitoring and load testing.

    Bad input (unreadable files, invalid YAML or values, unusable paths and addresses) ends
    with one "Error:" line and exit status 2; a failed operation exits 1.
    """


mobu.add_command(serve)
mobu.add_command(run)
mobu.add_command(flock)
mobu.add_command(demo)
mobu.add_command(ci)
mobu.add_command(loadtest)
mobu.add_command(capacity)


def main() -> None:
    """Entry point of the ``mobu`` console script."""
    mobu(auto_envvar_prefix="MOBU")
