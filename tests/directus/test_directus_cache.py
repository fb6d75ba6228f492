"""Clearing Directus's schema cache after init: one POST to the configured URL, failures are
warnings.

A stub HTTP server on 127.0.0.1 stands in for Directus; no lab is started here.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from govgate.config import Settings
from govgate.directus import registration as directus_meta
from govgate.ops.init import InitResult


class _Stub(BaseHTTPRequestHandler):
    status = 204
    seen: list[tuple[str, str, str | None]] = []

    def do_POST(self):
        type(self).seen.append(("POST", self.path, self.headers.get("Authorization")))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        if self.status >= 400:
            self.wfile.write(
                b'{"errors":[{"message":"You don\'t have permission to access this."}]}'
            )

    def log_message(self, *args):
        pass


@pytest.fixture
def stub():
    _Stub.seen = []
    _Stub.status = 204
    server = HTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Stub
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_clears_with_one_post_and_the_token(stub, monkeypatch):
    url, handler = stub
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9/")  # never used: no proxy for this call
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9/")
    assert directus_meta.clear_schema_cache(url + "/", "tok") is None
    assert handler.seen == [("POST", "/utils/cache/clear?system", "Bearer tok")]


def test_refused_unreachable_or_unconfigured_becomes_a_reason(stub):
    url, handler = stub
    handler.status = 403
    assert directus_meta.clear_schema_cache(url, "tok").startswith(
        "Directus answered 403 (You don't have"
    )
    assert directus_meta.clear_schema_cache(f"http://127.0.0.1:{_closed_port()}", "tok").startswith(
        "cannot reach Directus"
    )
    assert "no Directus URL" in directus_meta.clear_schema_cache(None, "tok")
    assert "not an http(s) URL" in directus_meta.clear_schema_cache("file:///etc/passwd", "tok")


def test_after_init_reports_it_only_when_something_was_registered(stub):
    url, handler = stub
    settings = Settings(directus_url=url, directus_token="tok")
    nothing = InitResult((), (), "1")
    assert directus_meta.after_init(settings, nothing) == nothing and handler.seen == []
    done = directus_meta.after_init(settings, replace(nothing, directus_registered=("os_audit",)))
    assert done.directus_cache == f"cleared through {url}/utils/cache/clear?system"
    failed = directus_meta.after_init(
        Settings(), replace(nothing, directus_registered=("os_audit",))
    )
    assert failed.directus_cache.startswith("NOT cleared: no Directus URL is configured")
