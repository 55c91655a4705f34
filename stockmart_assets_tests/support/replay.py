"""Replay recorded HTTP responses to the real clients: the test double sits at the HTTP layer, nowhere else.

How, and why this way
---------------------
Both clients are exercised whole; only the bytes that would come over the wire are recorded.

* Upbit: our client speaks ``requests``, and the ``responses`` library (getsentry's, maintained) answers
  ``requests``' transport adapter from a cassette: one recorded page per (market, to, count) query.
* Yahoo: yfinance (1.x) talks through ``curl_cffi`` (libcurl with a browser's TLS fingerprint), which
  ``responses`` cannot see, and a Python socket patch cannot see either (libcurl opens its own sockets).
  yfinance does however accept a plain ``requests.Session`` (``yf.Ticker(t, session=...)``; its
  ``is_supported_session`` takes a curl_cffi or a requests Session, and requests is its documented fallback
  backend). So the tests hand ``fetch_bars`` a ``requests.Session`` and ``responses`` serves Yahoo's recorded
  JSON to it. Everything yfinance does above the transport runs for real: the cookie/crumb handshake, status
  handling (>= 400 switches cookie strategy, 429 raises ``YFRateLimitError``), the timezone probe, the chart
  JSON parsing, null bars and regular-hours filtering. This is the fast path most tests use.

The production transport is covered as well: ``replay_server`` runs an HTTPS-intercepting proxy on 127.0.0.1,
and a curl_cffi Session as yfinance makes it (Chrome impersonation, certificates verified against a throwaway
CA) goes through it, so yfinance + curl_cffi + TLS run against the same recorded JSON. A proxy rather than a
server at a patched base URL: yfinance hard-codes https URLs on five hosts (fc, guce, consent, query1,
query2), and through a proxy curl keeps asking for the real names, none of which it resolves itself.

Rejected: patching ``Ticker.history`` or curl_cffi's ``Session.request`` would skip or fake yfinance's own code.
Unmatched requests fail like an unreachable host (``requests.ConnectionError``; HTTP 599 from the proxy), which
is what offline looks like to yfinance.

This module imports ``responses`` lazily: it is a test dependency, and only tests import this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    import requests
    import responses

YAHOO_CHART_URL = "https://query2.finance.yahoo.com/v8/finance/chart/{symbol}"
YAHOO_COOKIE_URL = "https://fc.yahoo.com/"
YAHOO_CRUMB_URLS = ("https://query1.finance.yahoo.com/v1/test/getcrumb",
                    "https://query2.finance.yahoo.com/v1/test/getcrumb")
# What fc.yahoo.com answers a first visit with: a 404 page that sets the A3 consent cookie.
YAHOO_A3_COOKIE = ("A3=d=AQABBKW1bWcCEN2mZqQq3nLXWyD5J8mEVkUFEgEBAQEHb2d3Z9xR0iMA_eMAAA&S=AQAAAkM1c0Mvh0bSFQ9O3YX1"
                   "Tqg; Max-Age=31557600; Domain=.yahoo.com; Path=/; SameSite=None; Secure; HttpOnly")
YAHOO_CRUMB = "Xk3bV9.tq1z"
JSON = "application/json;charset=utf-8"
YAHOO_HOSTS = ("fc.yahoo.com", "guce.yahoo.com", "consent.yahoo.com", "query1.finance.yahoo.com",
               "query2.finance.yahoo.com")


def replay_session() -> requests.Session:
    """A plain requests Session: yfinance accepts it, and ``responses`` can answer it."""
    import requests

    return requests.Session()


@contextmanager
def http_replay() -> Iterator[responses.RequestsMock]:
    """Answer every ``requests`` call from what is registered on the yielded mock; anything else fails like an
    unreachable host. Registered responses need not all be used (yfinance caches its cookie and crumb)."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def _body(body: str | bytes | Mapping | list | Path) -> str | bytes:
    if isinstance(body, Path):
        return body.read_bytes()
    if isinstance(body, (Mapping, list)):
        return json.dumps(body, separators=(",", ":"))
    return body


def yahoo_over_curl():
    """A loopback HTTPS proxy replaying to curl_cffi (see ``replay_server``), for Yahoo's hosts; the helpers
    below register on it as on a ``responses`` mock."""
    from stockmart_assets_tests.support.replay_server import LoopbackHttpsReplay

    return LoopbackHttpsReplay(YAHOO_HOSTS)


def add_yahoo_handshake(mock: responses.RequestsMock) -> None:
    """The cookie and crumb yfinance fetches before its first data request (kept until the process ends)."""
    mock.get(YAHOO_COOKIE_URL, status=404, body="<html>Not Found</html>", content_type="text/html",
             headers={"Set-Cookie": YAHOO_A3_COOKIE})
    for url in YAHOO_CRUMB_URLS:
        mock.get(url, status=200, body=YAHOO_CRUMB, content_type="text/plain;charset=utf-8")


def add_yahoo_chart(
    mock: responses.RequestsMock,
    symbol: str,
    body: str | bytes | Mapping | Path,
    *,
    interval: str = "1m",
    params: Mapping[str, Any] | None = None,
    status: int = 200,
    content_type: str = JSON,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Serve ``body`` for ``/v8/finance/chart/<symbol>`` requests of that ``interval`` (and ``params``, e.g.
    period1/period2). Registered twice, the first registration answers the first call, and so on; the last
    one keeps answering."""
    from stockmart_assets_tests.support.replay_server import LoopbackHttpsReplay

    wanted = {"interval": interval, **(params or {})}
    url, options = YAHOO_CHART_URL.format(symbol=symbol), {
        "status": status, "body": _body(body), "content_type": content_type, "headers": dict(headers or {})}
    if isinstance(mock, LoopbackHttpsReplay):
        mock.get(url, params=wanted, **options)
    else:
        from responses import matchers

        mock.get(url, match=[matchers.query_param_matcher(wanted, strict_match=False)], **options)


def calls_to(mock: responses.RequestsMock, url: str, **params: str) -> list:
    """The calls made to ``url`` (scheme, host and path) whose query has ``params``."""
    wanted = urlsplit(url)
    found = []
    for call in mock.calls:
        got = urlsplit(call.request.url)
        if (got.scheme, got.netloc, got.path) != (wanted.scheme, wanted.netloc, wanted.path):
            continue
        query = {k: v[-1] for k, v in parse_qs(got.query).items()}
        if all(query.get(k) == str(v) for k, v in params.items()):
            found.append(call)
    return found


def yahoo_chart_calls(mock: responses.RequestsMock, symbol: str, interval: str = "1m") -> list:
    return calls_to(mock, YAHOO_CHART_URL.format(symbol=symbol), interval=interval)


def load_cassette(path: str | Path) -> dict:
    """A cassette: ``{"interactions": [{"request": {method, url, query}, "response": {status, headers,
    json | body}}]}``, one interaction per recorded HTTP exchange."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def add_cassette(mock: responses.RequestsMock, cassette: Mapping) -> None:
    """Serve each recorded response to the request with exactly its recorded query."""
    from responses import matchers

    for interaction in cassette["interactions"]:
        request, response = interaction["request"], interaction["response"]
        headers = dict(response.get("headers", {}))
        content_type = headers.pop("Content-Type", JSON)
        body = _body(response["json"]) if "json" in response else response.get("body", "")
        mock.add(request.get("method", "GET"), request["url"], status=response.get("status", 200), body=body,
                 headers=headers, content_type=content_type,
                 match=[matchers.query_param_matcher(request.get("query") or {})])
