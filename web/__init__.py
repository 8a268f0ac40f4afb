"""Analyst web UI for the embedded default (works on any store backend)."""
