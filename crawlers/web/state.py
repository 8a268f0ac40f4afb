"""Crawl state kept between runs of one web source: known threads, known items, page fingerprints.

One JSON file per source (`<state_dir>/web-<source>.json`), written atomically when the spider closes,
so an interrupted run leaves the previous state intact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STATE_VERSION = 1


class CrawlState:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.threads: dict[str, dict[str, Any]] = data.get("threads", {})
        self.pages: dict[str, str] = data.get("pages", {})
        self.items: dict[str, list[str]] = data.get("items", {})

    @classmethod
    def load(cls, path: Path) -> CrawlState:
        if not path.is_file():
            return cls(path, {})
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            logger.warning("crawl state %s is unreadable (%s); starting from scratch", path, err)
            return cls(path, {})
        if data.get("version") != STATE_VERSION:
            logger.warning(
                "crawl state %s has version %r, expected %d; starting from scratch",
                path,
                data.get("version"),
                STATE_VERSION,
            )
            return cls(path, {})
        return cls(path, data)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        payload = {
            "version": STATE_VERSION,
            "threads": self.threads,
            "pages": self.pages,
            "items": self.items,
        }
        tmp.write_text(json.dumps(payload, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)

    # ---- page fingerprints ----------------------------------------------------------------------
    @staticmethod
    def fingerprint(body: bytes) -> str:
        return hashlib.sha1(body).hexdigest()

    def unchanged(self, url: str, body: bytes) -> bool:
        """True when this page was parsed before with the same content; records the new fingerprint otherwise."""
        digest = self.fingerprint(body)
        if self.pages.get(url) == digest:
            return True
        self.pages[url] = digest
        return False

    def forget_page(self, url: str) -> None:
        self.pages.pop(url, None)
