"""MrpoClient's retries against a real local HTTP server that fails the first requests in a chosen way."""
import json
import re
import socket
import socketserver
import struct
import threading

import pytest

from mrpo_trl import client as client_module
from mrpo_trl.client import MrpoClient, MrpoServiceError, MrpoUnreachableError

OK = {"groups": [], "metrics": {}}


class Flaky(socketserver.BaseRequestHandler):
    """Reads one HTTP request, then does the next action of the server's plan (default: 200 with OK)."""

    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"content-length: *(\d+)", head, re.I).group(1))
        while len(body) < length:
            body += self.request.recv(65536)
        action = self.server.plan.pop(0) if self.server.plan else 200
        self.server.requests.append(json.loads(body))
        if action == "reset":  # close with SO_LINGER 0: the client gets a TCP RST instead of a response
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.request.close()
            return
        status, headers = (action, {}) if isinstance(action, int) else action
        reply = json.dumps(OK if status == 200 else {"error": {"message": "bad thing %d" % status,
                                                               "path": "$.groups"}}).encode()
        extra = "".join("%s: %s\r\n" % kv for kv in headers.items())
        self.request.sendall(("HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s"
                              "connection: close\r\n\r\n" % (status, len(reply), extra)).encode() + reply)


@pytest.fixture
def flaky():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Flaky)
    server.daemon_threads = True
    server.plan, server.requests = [], []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sleeps(monkeypatch):
    """The client's backoff delays, recorded instead of slept."""
    recorded = []
    monkeypatch.setattr(client_module.time, "sleep", recorded.append)
    return recorded


def client_for(server, **kw):
    return MrpoClient("http://127.0.0.1:%d" % server.server_address[1], backoff=0.1, **kw)


@pytest.mark.parametrize("failure", ["reset", 502, 503, 504])
def test_retries_then_succeeds(flaky, sleeps, failure):
    flaky.plan = [failure, failure, failure]
    assert client_for(flaky, max_retries=5).shape({"estimator": "mrpo", "groups": []}) == OK
    assert len(flaky.requests) == 4  # three failures, then the answer
    assert all(r == {"estimator": "mrpo", "groups": []} for r in flaky.requests)  # the same body each time
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])  # exponential backoff: backoff * 2**attempt


def test_mixed_failures_in_one_call(flaky, sleeps):
    flaky.plan = ["reset", 502, "reset", 504, 503]
    assert client_for(flaky, max_retries=5).score({"groups": []}) == OK
    assert len(flaky.requests) == 6 and len(sleeps) == 5


def test_retry_after_is_honoured(flaky, sleeps):
    flaky.plan = [(503, {"Retry-After": "3"})]
    assert client_for(flaky).shape({"groups": []}) == OK
    assert sleeps == [3.0]  # max(backoff, Retry-After)


def test_attempts_are_bounded(flaky, sleeps):
    flaky.plan = [503] * 10
    with pytest.raises(MrpoServiceError) as error:
        client_for(flaky, max_retries=2).shape({"groups": []})
    assert error.value.status == 503 and len(flaky.requests) == 3  # 1 + max_retries
    flaky.plan, flaky.requests = ["reset"] * 10, []
    with pytest.raises(MrpoUnreachableError, match="dropped the connection 3 times"):
        client_for(flaky, max_retries=2).shape({"groups": []})
    assert len(flaky.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 413, 422])
def test_client_errors_are_not_retried(flaky, sleeps, status):
    flaky.plan = [status]
    with pytest.raises(MrpoServiceError) as error:
        client_for(flaky).shape({"groups": []})
    assert (error.value.status, error.value.message, error.value.path) == (status, "bad thing %d" % status,
                                                                          "$.groups")
    assert len(flaky.requests) == 1 and sleeps == []
