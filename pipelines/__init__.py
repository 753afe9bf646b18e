"""Pipelines of the provincial digital data repository."""
