"""`http` against a real HTTP server on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runner import execute


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _reply(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/missing"):
            self._reply(404, '{"error": "not found"}')
        elif self.path.startswith("/text"):
            self._reply(200, "plain", "text/plain")
        else:
            self._reply(200, json.dumps({"path": self.path, "auth": self.headers.get("Authorization")}))

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self._reply(201, json.dumps({"got": json.loads(body), "ctype": self.headers["Content-Type"]}))


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def run(tmp_path, params, inputs=None):
    d = {"ir_version": "0.1.0", "inputs": {k: {"type": "any"} for k in inputs or {}}, "nodes": [{"id": "h", "type": "http", "params": params}]}
    return execute(d, inputs or {}, base_dir=tmp_path).step("h")


def test_get_with_query_and_auth_token_parses_json(server, tmp_path):
    step = run(tmp_path, {"url": f"{server}/items", "params": {"q": "a b"}, "auth_token": "t"})
    assert step.output["status_code"] == 200
    assert step.output["response"] == {"path": "/items?q=a+b", "auth": "Bearer t"}
    assert step.output["response_headers"]["Content-Type"] == "application/json"
    assert step.output["response_is_binary"] is False and step.output["response_time"] >= 0


def test_post_json_body_from_a_template(server, tmp_path):
    step = run(tmp_path, {"url": f"{server}/make", "method": "POST", "body": "${payload}"}, {"payload": {"n": 1}})
    assert step.output["status_code"] == 201
    assert step.output["response"] == {"got": {"n": 1}, "ctype": "application/json"}


def test_text_response_stays_text(server, tmp_path):
    assert run(tmp_path, {"url": f"{server}/text"}).output["response"] == "plain"


def test_error_status_fails_the_node_but_keeps_the_response(server, tmp_path):
    step = run(tmp_path, {"url": f"{server}/missing"})
    assert step.error == "HTTP 404"
    assert step.output["response"] == {"error": "not found"}


def test_unreachable_host_fails_the_node(tmp_path):
    step = run(tmp_path, {"url": "http://127.0.0.1:9/", "timeout": 2})
    assert step.error.startswith("GET http://127.0.0.1:9/: ")


class DeepHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        depth = int(self.path.strip("/"))
        data = ("[" * depth + "]" * depth).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_response_nested_deeper_than_python_parses_stays_text_and_the_trace_writes(tmp_path):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), DeepHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        doc = {"nodes": [{"id": "too_deep", "type": "http", "params": {"url": f"{base}/1000"}},
                         {"id": "deep", "type": "http", "params": {"url": f"{base}/300"}}],
               "edges": [{"from": "too_deep", "to": "deep"}], "outputs": {"o": "${deep.response}"}}
        trace = execute(doc, {}, base_dir=tmp_path)
    finally:
        httpd.shutdown()
    assert trace.status.value == "passed", trace.error
    assert trace.step("too_deep").output["response"] == "[" * 1000 + "]" * 1000
    assert isinstance(trace.step("deep").output["response"], list)
    stored = json.loads(trace.write(tmp_path).read_text())
    assert "<truncated: nested deeper than 100 levels>" in json.dumps(stored["outputs"])
