"""Errors of the dashboard's actions (rendered by the API's one error handler)."""

from __future__ import annotations

from mobu.exceptions import ClientRequestError

__all__ = ["CrossSiteRequestError", "NoFlockConfigError"]


class CrossSiteRequestError(ClientRequestError):
    """A dashboard action that did not come from the dashboard's own page."""

    error = "cross_site_request"
    status_code = 403


class NoFlockConfigError(ClientRequestError):
    """Start asked for a flock whose configuration this process does not know."""

    error = "flock_config_unknown"
    status_code = 404
