"""GitHub integrations: the refresh app and the CI app (reference-mobu.md §9)."""
