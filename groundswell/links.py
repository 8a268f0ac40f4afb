"""Is the source behind a link still served? The demo serves its market on a loopback port that is
gone once the demo ends; links to it then fall back to the stored copy (the mention view), and say so.

Only loopback URLs (127.0.0.1, ::1, localhost) are probed, with one short TCP connect remembered for
a few seconds: links to the open web are never probed (no request leaves for a page view).
"""

from __future__ import annotations

import logging
import socket
import time
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
PROBE_TIMEOUT_S = 0.2
REMEMBER_S = 10.0
_seen: dict[tuple[str, int], tuple[float, bool]] = {}


def served(url: str | None) -> bool:
    """False only for a loopback http(s) URL whose port no longer answers (a demo that has ended)."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or host not in LOOPBACK:
        return True
    key, now = (host, port), time.monotonic()
    cached = _seen.get(key)
    if cached is not None and now - cached[0] < REMEMBER_S:
        return cached[1]
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            alive = True
    except OSError:
        alive = False
        logger.debug("source %s:%s is not served any more; links fall back to the stored copy", host, port)
    _seen[key] = (now, alive)
    return alive
