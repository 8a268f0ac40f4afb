"""Issue 17: credentials follow a redirect only to the same origin; malformed source URLs are
rejected when the configuration is loaded, not at crawl time."""

from __future__ import annotations

import httpx
import pytest

from crawlers.http import ApiHttp, Secret
from groundswell.config import ConfigError, parse_config

TOKEN = "api-token-0123456789"


def _client(seen: list[httpx.Request], routes: dict[str, httpx.Response]) -> ApiHttp:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return routes[str(request.url)]

    return ApiHttp(
        user_agent="test", transport=httpx.MockTransport(handler), max_retries=0, sleep=lambda s: None
    )


@pytest.mark.parametrize(
    "target",
    [
        "http://api.example:9090/next",  # another port of the same host (the finding)
        "https://api.example/next",  # another scheme (and so another default port)
        "http://api.example:8443/next",
    ],
)
def test_credentials_do_not_follow_a_redirect_to_another_origin(target: str) -> None:
    seen: list[httpx.Request] = []
    http = _client(
        seen,
        {
            "http://api.example/v1": httpx.Response(302, headers={"Location": target}),
            target: httpx.Response(200, json={"ok": True}),
        },
    )
    response = http.get(
        "http://api.example/v1", headers={"Authorization": Secret(f"Bearer {TOKEN}"), "Accept": "x"}
    )
    assert response.status == 200
    first, second = seen
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in second.headers and TOKEN not in str(second.headers)
    assert second.headers["accept"] == "x"  # only the credentials are dropped


@pytest.mark.parametrize("target", ["/v2", "http://api.example:80/v2", "http://API.example/v2"])
def test_credentials_follow_a_same_origin_redirect(target: str) -> None:
    seen: list[httpx.Request] = []
    http = _client(
        seen,
        {
            "http://api.example/v1": httpx.Response(301, headers={"Location": target}),
            "http://api.example/v2": httpx.Response(200, json={}),
            "http://api.example:80/v2": httpx.Response(200, json={}),
            "http://api.example/v2".replace("api", "API"): httpx.Response(200, json={}),
        },
    )
    http.get("http://api.example/v1", headers={"Authorization": Secret(f"Bearer {TOKEN}")})
    assert all(r.headers.get("authorization") == f"Bearer {TOKEN}" for r in seen)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1/x", "Invalid IPv6 URL"),
        ("http:// not a url", "whitespace"),
        ("https://example.com:99999/feed", "Port out of range"),
        ("https://", "no host name"),
        ("http://exa mple.com/", "whitespace"),
        ("http://example.com/\nfeed", "control"),
    ],
)
def test_malformed_source_url_is_a_configuration_error(url: str, why: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"sources": [{"name": "s", "kind": "rss", "url": url}]})
    assert "sources[0].url" in str(err.value) and why in str(err.value)


@pytest.mark.parametrize("url", ["http://example.com/feed", "http://[::1]:8080/x", "https://a.example:8443/"])
def test_well_formed_source_urls_still_load(url: str) -> None:
    assert parse_config({"sources": [{"name": "s", "kind": "rss", "url": url}]}).sources[0].url == url
