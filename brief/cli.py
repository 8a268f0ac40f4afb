"""`groundswell brief`: build the weekly market brief."""

from __future__ import annotations
