"""Replay recorded responses to curl_cffi, yfinance's default transport, through a loopback HTTPS proxy.

``replay.py`` answers a ``requests`` Session; this answers the transport yfinance uses in production. A
curl_cffi Session (browser impersonation on, certificates verified) is pointed at an HTTP proxy on 127.0.0.1:
curl sends ``CONNECT query2.finance.yahoo.com:443`` and never resolves the name itself; the proxy accepts the
tunnel, speaks TLS with a certificate for that host signed by a throwaway CA (``trustme``) that only this
Session trusts, and answers each request from the registered routes. Nothing leaves the machine.

Test support: imports ``trustme`` and ``curl_cffi`` lazily; only tests import this module.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class _Route:
    url: str
    params: dict[str, str]
    answers: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)

    def matches(self, url: str, query: Mapping[str, str]) -> bool:
        return url == self.url and all(query.get(k) == v for k, v in self.params.items())


class LoopbackHttpsReplay:
    """An HTTPS-intercepting proxy on 127.0.0.1 that serves registered responses; use as a context manager.

    ``get(url, ...)`` registers a response like ``responses.RequestsMock.get``: for the same route, the first
    registration answers the first call and the last keeps answering. Unmatched requests get HTTP 599.
    ``calls`` lists what was asked, with ``.request.url`` and ``.response.status_code``.
    """

    def __init__(self, hosts: tuple[str, ...]):
        self.hosts = hosts
        self.calls: list[SimpleNamespace] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()

    def get(self, url: str, *, status: int = 200, body: str | bytes = b"", content_type: str = "text/plain",
            headers: Mapping[str, str] | None = None, params: Mapping[str, Any] | None = None) -> None:
        url = _normalize(url)
        wanted = {k: str(v) for k, v in (params or {}).items()}
        route = next((r for r in self._routes if r.url == url and r.params == wanted), None)
        if route is None:
            route = _Route(url, wanted)
            self._routes.append(route)
        payload = body.encode() if isinstance(body, str) else body
        route.answers.append((status, payload, {"Content-Type": content_type, **dict(headers or {})}))

    def curl_session(self):
        """A curl_cffi Session as yfinance makes it (Chrome impersonation), tunnelled through this proxy."""
        from curl_cffi import requests as curl_requests

        return curl_requests.Session(impersonate="chrome", verify=str(self._ca_file),
                                     proxy=f"http://127.0.0.1:{self._server.server_address[1]}")

    def _answer(self, url: str, query: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        with self._lock:
            route = next((r for r in self._routes if r.matches(url, query)), None)
            if route is None:
                answer = (599, f"no recorded response for {url} {query}".encode(), {"Content-Type": "text/plain"})
            elif len(route.answers) > 1:
                answer = route.answers.pop(0)
            else:
                answer = route.answers[0]
            full = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            self.calls.append(SimpleNamespace(request=SimpleNamespace(url=full, params=query),
                                              response=SimpleNamespace(status_code=answer[0])))
            return answer

    def __enter__(self) -> LoopbackHttpsReplay:
        import trustme

        ca = trustme.CA()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*self.hosts).configure_cert(context)
        context.set_alpn_protocols(["http/1.1"])
        self._tmp = tempfile.TemporaryDirectory(prefix="replay-ca-")
        self._ca_file = Path(self._tmp.name) / "ca.pem"
        ca.cert_pem.write_to_path(str(self._ca_file))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, context))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="loopback-https-replay",
                                        daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._tmp.cleanup()


def _normalize(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"


def _handler(replay: LoopbackHttpsReplay, context: ssl.SSLContext) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        tunnel_host = ""

        def do_CONNECT(self):  # noqa: N802 - http.server's naming
            host = self.path.rsplit(":", 1)[0]
            if host not in replay.hosts:
                self.send_error(403, f"{host} is not replayed here")
                return
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            tls = context.wrap_socket(self.connection, server_side=True)
            self.connection, self.tunnel_host = tls, host
            self.rfile, self.wfile = tls.makefile("rb"), tls.makefile("wb")
            self.close_connection = False
            while not self.close_connection:
                self.handle_one_request()

        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            url = f"https://{self.tunnel_host or self.headers.get('Host', '')}{parts.path or '/'}"
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            status, body, headers = replay._answer(url, query)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()

        def log_message(self, format, *args):  # keep test output quiet
            pass

    return Handler
