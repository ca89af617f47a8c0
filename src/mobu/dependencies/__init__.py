"""FastAPI glue: request dependencies and the authentication middleware."""
