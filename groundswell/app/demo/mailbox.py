"""A local mailbox for the demo: a real SMTP server on loopback that files every message it accepts.

The demo's teams are notified by email; instead of sending mail into the void, `groundswell demo`
points the configuration's SMTP settings at this server, which writes each message as an `.eml`
file that any mail client opens.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


@contextmanager
def demo_mailbox(folder: Path, *, host: str = "127.0.0.1") -> Iterator[tuple[str, int]]:
    """Serve SMTP on a free loopback port; yields (host, port). Messages land in `folder` as .eml files."""
    from aiosmtpd.controller import Controller

    folder.mkdir(parents=True, exist_ok=True)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            raw = envelope.original_content or envelope.content
            message = message_from_bytes(raw, policy=policy.default)
            number = len(list(folder.glob("*.eml"))) + 1
            path = folder / f"{number:04d}.eml"
            path.write_bytes(raw)
            logger.info(
                "demo mailbox: %s to %s filed as %s",
                message.get("Subject", "(no subject)"),
                ", ".join(envelope.rcpt_tos),
                path.name,
            )
            return "250 Message accepted for delivery"

    with socket.socket() as probe:
        probe.bind((host, 0))
        port = int(probe.getsockname()[1])
    controller = Controller(Handler(), hostname=host, port=port)
    controller.start()
    try:
        yield host, port
    finally:
        controller.stop()
