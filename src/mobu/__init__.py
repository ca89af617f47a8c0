"""mobu: simulated users of a Jupyter-based science platform."""

from mobu.models.business.base import BusinessOptions
from mobu.models.user import AuthenticatedUser
from mobu.services.business.base import Business

__all__ = ["AuthenticatedUser", "Business", "BusinessOptions"]
