"""Workflow profiles: each jurisdiction's lifecycle as data, one module per profile."""
