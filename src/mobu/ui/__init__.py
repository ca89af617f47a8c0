"""The dashboard (``GET {pathPrefix}/ui``): server-rendered pages over the history and the flocks.

See docs/history.md, "Dashboard". :mod:`mobu.ui.views` builds what the pages show (from the
history reader and the flock manager; :mod:`mobu.ui.group` for a replica group, from its merged
view), :mod:`mobu.ui.render` renders the Jinja2 templates,
:mod:`mobu.ui.assets` finds the vendored front-end pieces (htmx, uPlot) and
:mod:`mobu.ui.actions` runs the start / stop / refresh buttons. The routes are in
``mobu.handlers.ui``.
"""

from mobu.ui.actions import FlockActions, check_same_origin
from mobu.ui.assets import Assets
from mobu.ui.render import render

__all__ = ["Assets", "FlockActions", "check_same_origin", "render"]
