"""ApiHttp: timeouts, size caps, redirects, Retry-After forms, secrets masked."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from crawlers.feeds.replay import ReplayServer
from crawlers.http import ApiHttp, CredentialError, FetchError, Secret, load_credentials, redact_url
from groundswell.config import parse_config


def _http(sleeps: list[float], **overrides: float) -> ApiHttp:
    return ApiHttp(user_agent="t", max_retries=int(overrides.get("max_retries", 2)), backoff=0.01,
                   timeout=overrides.get("timeout", 5.0), max_bytes=int(overrides.get("max_bytes", 1 << 20)), sleep=sleeps.append)  # fmt: skip


def test_http_retries_timeouts_with_backoff_then_reports_them() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accept connections and never answer
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    sleeps: list[float] = []
    try:
        with pytest.raises(FetchError, match=r"ReadTimeout.*gave up after 3 attempts"):
            _http(sleeps, timeout=0.2).get(f"http://127.0.0.1:{listener.getsockname()[1]}/slow")
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()
    assert sleeps == [0.01, 0.02]


def test_http_cuts_off_bodies_over_the_size_limit() -> None:
    with ReplayServer() as server:
        server.add("/big", body=b"x" * 5000)
        with pytest.raises(FetchError, match="exceeds the limit of 1000 bytes"):
            _http([], max_bytes=1000).get(f"{server.url}/big")


def test_http_follows_same_host_redirects_and_refuses_other_domains() -> None:
    with ReplayServer() as server:
        server.add("/moved", status=301, headers={"Location": "/here"})
        server.add("/here", body=b"{}")
        server.add("/away", status=302, headers={"Location": "https://elsewhere.example/feed"})
        http = _http([])
        assert http.get(f"{server.url}/moved").url == f"{server.url}/here"
        with pytest.raises(FetchError, match=r"redirect to another domain: https://elsewhere\.example/feed"):
            http.get(f"{server.url}/away")


def test_http_reads_retry_after_as_an_http_date() -> None:
    sleeps: list[float] = []
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    with ReplayServer() as server:
        server.add("/x", status=429, headers={"Retry-After": when}, times=1)
        server.add("/x", body=b"[]")
        _http(sleeps).get(f"{server.url}/x")
    assert len(sleeps) == 1 and 15 < sleeps[0] <= 20


def test_http_retry_after_on_503_is_bounded_by_max_wait() -> None:
    sleeps: list[float] = []
    with ReplayServer() as server:
        server.add("/x", status=503, headers={"Retry-After": "100000"}, times=1)
        server.add("/x", body=b"[]")
        _http(sleeps).get(f"{server.url}/x")
    assert sleeps == [60.0]


def test_secret_is_masked_and_redact_url_hides_keys(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("hunter2-token")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("credential %s / %r / %s", secret, secret, f"{secret}")
    assert "hunter2" not in caplog.text and secret.reveal() == "hunter2-token"
    assert (
        redact_url("https://api.example/v3/x?key=abc&part=snippet")
        == "https://api.example/v3/x?key=***&part=snippet"
    )


def test_load_credentials_reads_environment_and_names_the_missing_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = parse_config(
        {
            "sources": [
                {
                    "name": "s",
                    "kind": "x",
                    "url": "https://api.example",
                    "credentials_env": {"bearer_token": "GS_TEST_BEARER"},
                }
            ]
        }
    )
    monkeypatch.delenv("GS_TEST_BEARER", raising=False)
    with pytest.raises(CredentialError, match="set the environment variable GS_TEST_BEARER"):
        load_credentials(config.source("s"), required=("bearer_token",))
    monkeypatch.setenv("GS_TEST_BEARER", "abc")
    assert load_credentials(config.source("s"), required=("bearer_token",))["bearer_token"].reveal() == "abc"


def test_http_error_message_carries_url_status_and_reason() -> None:
    start = time.monotonic()
    with ReplayServer() as server:
        server.add("/denied", status=401, body=b'{"error":"The access token is invalid"}')
        with pytest.raises(FetchError) as info:
            _http([]).get(f"{server.url}/denied")
    assert info.value.status == 401
    assert str(info.value) == f"HTTP 401 for {server.url}/denied: The access token is invalid"
    assert time.monotonic() - start < 5


def test_load_credentials_falls_back_to_an_airflow_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    class Conn:
        login = "user"
        password = "from-airflow"

    class BaseHook:
        @staticmethod
        def get_connection(conn_id: str) -> Conn:
            assert conn_id == "gs_test_airflow_token"
            return Conn()

    sdk = types.ModuleType("airflow.sdk")
    sdk.BaseHook = BaseHook  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "airflow", types.ModuleType("airflow"))
    monkeypatch.setitem(sys.modules, "airflow.sdk", sdk)
    monkeypatch.delenv("GS_TEST_AIRFLOW_TOKEN", raising=False)
    config = parse_config(
        {
            "sources": [
                {
                    "name": "s",
                    "kind": "reddit",
                    "url": "https://oauth.reddit.com",
                    "credentials_env": {"token": "GS_TEST_AIRFLOW_TOKEN"},
                }
            ]
        }
    )
    assert load_credentials(config.source("s"))["token"].reveal() == "from-airflow"
