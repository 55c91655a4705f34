"""Fixtures for the market-data tests (lib/market, defs/market): no network at all, recorded responses, an
isolated yfinance cache. Each of those folders' conftest.py brings them in."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stockmart_assets_tests.support import replay

FIXTURES = Path(__file__).parent / "market_fixtures"


class NetworkBlocked(OSError):
    """A test tried to reach a host that is not this machine."""


def is_loopback(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it is already network traffic


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Refuse, before any packet leaves, every connection or name lookup that is not for the loopback range.

    Covers Python sockets (requests, urllib3) and curl_cffi, whose libcurl opens its own sockets unseen by
    Python: its Session.request is refused unless every proxy it would use is on the loopback (the replay proxy).
    Yields the list of refused attempts, which must stay empty.
    """
    refused: list[str] = []

    def refuse(what: str):
        refused.append(what)
        raise NetworkBlocked(f"test tried to reach {what}: tests must not use the network")

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create_connection, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            refuse(f"{address}")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            refuse(f"{address}")
        return real_connect_ex(sock, address)

    def create_connection(address, *args, **kwargs):
        if not is_loopback(address[0]):
            refuse(f"{address}")
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not is_loopback(host):
            refuse(f"name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        from curl_cffi.requests import Session as CurlSession
    except ImportError:
        pass
    else:
        real_curl_request = CurlSession.request

        def curl_request(self, method, url, *args, **kwargs):
            # Allowed only through a proxy on this machine (replay_server): curl then resolves nothing itself.
            proxies = {**(getattr(self, "proxies", None) or {}), **(kwargs.get("proxies") or {})}
            if kwargs.get("proxy"):
                proxies["all"] = kwargs["proxy"]
            if not proxies or not all(is_loopback(urlsplit(p).hostname) for p in proxies.values()):
                refuse(f"{method} {url} through curl_cffi")
            return real_curl_request(self, method, url, *args, **kwargs)

        monkeypatch.setattr(CurlSession, "request", curl_request)
    yield refused
    assert not refused, f"tests reached for the network: {refused}"


@pytest.fixture(scope="session", autouse=True)
def yfinance_cache(tmp_path_factory):
    """yfinance keeps a timezone and cookie cache on disk (in the user's cache folder): use a throwaway one."""
    import yfinance as yf

    folder = tmp_path_factory.mktemp("yfinance-cache")
    yf.set_tz_cache_location(str(folder))
    return folder


@pytest.fixture
def http():
    """Replays registered responses to any requests Session; everything else fails as unreachable."""
    with replay.http_replay() as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    """Pass ``sleeps.append`` as a client's ``sleep``: the test runs at once and sees every wait."""
    return []
