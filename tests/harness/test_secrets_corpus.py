"""Secrets never reach disk: a corpus of awkward secrets (quotes, backslashes, newlines, tabs,
unicode, very long, URL-special) and of credentials flowtape is given (--llm-api-key, MCP header
values, URL tokens, server args), pushed through the paths that write files — cassettes (unit
level and a few real servers over stdio and streamable HTTP) and traces — and then looked for,
byte by byte, in every file written: raw, JSON-escaped, YAML-escaped and URL-encoded."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import yaml
from typer.testing import CliRunner

from harness._cli.main import app
from harness.cassettes import Cassette, LeakedSecretError
from harness.cassettes._mcp import CassetteMCPClient
from harness.cassettes._secrets import REDACTED, find_leaks, redact_text, redact_trace, secrets_of, server_credentials
from runner import RunStatus, Runtime, execute
from runner.live.mcp import parse_mcp_config
from runner.trace import StepRecord, Trace

# -- the corpus --------------------------------------------------------------------------------

CORPUS = [
    pytest.param('pa"ss\\word', id="quote-backslash"),
    pytest.param("line-one\nline-two", id="newline"),
    pytest.param("tab\there-and\tthere", id="tab"),
    pytest.param("it's 'single' quoted", id="single-quotes"),
    pytest.param("pässwört-€-秘密-🔑", id="unicode"),
    pytest.param("ctl\x1b[0m\x07bell", id="control-chars"),
    pytest.param("Lg" + "a1B2c3D4" * 600 + "-end", id="very-long"),
    pytest.param("p@ss/w:rd?&=% +#", id="url-special"),
    pytest.param("  spaced out secret  ", id="spaces"),
]


def written_forms(secret: str) -> set[str]:
    """Every way `secret` could appear in a file we write: raw, JSON-escaped (ASCII or not),
    YAML double- and single-quoted, URL-encoded; and, for a multi-line secret, its longest line
    (a YAML literal block splits it across indented lines)."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
             secret.replace("'", "''"), quote(secret, safe=""), quote_plus(secret), quote(secret)}
    for unicode in (True, False):
        dumped = yaml.safe_dump(secret, default_style='"', width=10**9, allow_unicode=unicode)
        forms.add(dumped.strip().removesuffix("...").strip()[1:-1])
    lines = [line for line in secret.splitlines() if len(line) >= 6]
    if len(lines) > 1:
        forms.add(max(lines, key=len))
    return {f for f in forms if f}


def assert_absent(folder: Path, *secrets: str) -> list[Path]:
    """No file under `folder` holds any written form of any of `secrets`; returns the files."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            for form in written_forms(secret):
                assert form.encode() not in data, f"{path.name} holds {form[:40]!r} (a form of {secret[:40]!r})"
    return files


# -- find_leaks: the raw values and every escaping -----------------------------------------------


@pytest.mark.parametrize("secret", CORPUS)
def test_find_leaks_sees_a_secret_raw_json_escaped_or_url_encoded_in_any_value(secret):
    secrets = {secret: "DB_PASSWORD"}
    as_json_text = json.dumps({"password": secret})  # a tool result that is a JSON document
    document = {"raw": f"x {secret} y", "result": {"content": [{"text": as_json_text}]},
                "link": f"https://db.example/?p={quote(secret, safe='')}", "clean": "nothing here"}
    leaks = find_leaks(document, secrets)
    assert "$.raw (value of DB_PASSWORD)" in leaks
    assert "$.result.content[0].text (value of DB_PASSWORD)" in leaks
    assert "$.link (value of DB_PASSWORD)" in leaks
    assert not any(leak.startswith("$.clean") for leak in leaks)


def test_find_leaks_sees_a_secret_in_the_written_text_too():
    # A numeric secret stored as a number is no string value; the written text still holds it.
    assert find_leaks({"pin": 98765432}, {"98765432": "BANK_PIN_PASSWORD"}) == ["$.pin (value of BANK_PIN_PASSWORD)"]
    assert find_leaks({"a": "b"}, {"secret-in-text": "X_TOKEN"}, written="a: secret-in-text") == ["the written text (value of X_TOKEN)"]


@pytest.mark.parametrize("secret", CORPUS)
@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_cassette_holding_an_escaped_secret_is_refused_and_nothing_is_written(tmp_path, secret, suffix):
    cassette = Cassette.open(tmp_path / f"c{suffix}", "once")
    cassette.secret_envs.append({"DB_PASSWORD": secret})
    cassette.record("mcp", "db", "dump", "tools/call", {"name": "env"},
                    {"result": {"content": [{"type": "text", "text": json.dumps({"DB_PASSWORD": secret})}]}})
    with pytest.raises(LeakedSecretError, match=r"refusing to save: a secret appears at .*value of DB_PASSWORD"):
        cassette.save()
    assert list(tmp_path.iterdir()) == []


# -- credentials flowtape is given ---------------------------------------------------------------


def test_server_credentials_are_header_values_url_tokens_and_secret_args():
    servers = parse_mcp_config({"mcpServers": {
        "api": {"url": "https://mcp.example/mcp?access_token=url-token-123&page=2", "headers": {
            "Authorization": "Bearer bearer-token-456", "X-Api-Key": "literal-key-789", "Accept": "application/json"}},
        "cli": {"command": "srv", "args": ["--api-key=arg-key-abc", "--token", "arg-token-def", "--verbose", "--max-tokens", "4096"],
                "env": {"DB_PASSWORD": "env-pass-ghi", "LANG": "C.UTF-8"}},
        "dsn": {"command": "srv", "args": ["postgres://admin:dsn-pw-jkl@db:5432/x"]},
    }})
    found = {**server_credentials(servers["api"]), **server_credentials(servers["cli"]), **server_credentials(servers["dsn"])}
    for value in ("url-token-123", "Bearer bearer-token-456", "bearer-token-456", "literal-key-789", "arg-key-abc",
                  "arg-token-def", "env-pass-ghi", "dsn-pw-jkl"):
        assert value in found, value
    for value in ("application/json", "4096", "C.UTF-8", "2"):
        assert value not in found, value
    assert found["bearer-token-456"] == "mcpServers.api.headers.Authorization"
    assert found["arg-token-def"] == "mcpServers.cli.args[2]"


def test_a_credential_a_server_echoes_is_refused_and_meta_never_holds_one(tmp_path):
    servers = parse_mcp_config({"mcpServers": {"api": {"url": "https://mcp.example/mcp?token=url-token-123", "headers": {
        "Authorization": "Bearer bearer-token-456", "X-Api-Key": "literal-key-789"}},
        "cli": {"command": "srv", "args": ["--password", 'arg-"pw"-abc']}}})
    cassette = Cassette.open(tmp_path / "c.yaml", "once")
    with CassetteMCPClient(servers, cassette) as client:
        meta = client.server_meta()
    text = json.dumps(meta)
    assert "url-token-123" not in text and "bearer-token-456" not in text and "literal-key-789" not in text and "arg-" not in text
    assert meta["api"]["headers"] == {"Authorization": REDACTED, "X-Api-Key": REDACTED}
    assert meta["cli"]["args"] == ["--password", REDACTED]
    cassette.record("mcp", "api", "whoami", "tools/call", {"name": "whoami"}, {"result": {"content": [{"type": "text", "text": "you are bearer-token-456"}]}})
    with pytest.raises(LeakedSecretError, match=r"value of mcpServers\.api\.headers\.Authorization"):
        cassette.save({"servers": meta})
    assert not (tmp_path / "c.yaml").exists()


def placed(kind: str, secret: str) -> tuple[dict, str | None]:
    """An MCP config entry (and an --llm-api-key) that hands flowtape `secret` as a `kind` credential."""
    url = "https://mcp.example/mcp"
    if kind == "bearer-header":
        return {"url": url, "headers": {"Authorization": f"Bearer {secret}"}}, None
    if kind == "x-api-key-header":
        return {"url": url, "headers": {"X-Api-Key": secret}}, None
    if kind == "url-token":
        return {"url": f"{url}?page=1&access_token={quote(secret, safe='')}"}, None
    if kind == "api-key-arg":
        return {"command": "srv", "args": [f"--api-key={secret}"]}, None
    if kind == "token-arg":
        return {"command": "srv", "args": ["--token", secret, "--verbose"]}, None
    return {"command": "srv"}, secret  # llm-api-key


@pytest.mark.parametrize("kind", ["llm-api-key", "bearer-header", "x-api-key-header", "url-token", "api-key-arg", "token-arg"])
@pytest.mark.parametrize("secret", CORPUS)
def test_a_credential_of_every_kind_and_shape_stays_out_of_cassettes_and_traces(tmp_path, secret, kind):
    entry, llm_key = placed(kind, secret)
    configs = parse_mcp_config({"mcpServers": {"api": entry}})
    cassette = Cassette.open(tmp_path / "c.yaml", "once")
    with CassetteMCPClient(configs, cassette) as client:
        meta = client.server_meta()
    cassette.add_credential(llm_key, "--llm-api-key")
    cassette.record("mcp", "api", "ok", "tools/call", {"name": "t"}, {"result": {"content": [{"type": "text", "text": "fine"}]}})
    assert cassette.save({"servers": meta})  # the meta holds the server, its credential redacted
    assert_absent(tmp_path, secret)
    echoed = {"result": {"content": [{"type": "text", "text": json.dumps({"seen": secret})}]}}
    cassette.record("mcp", "api", "echo", "tools/call", {"name": "t"}, echoed)
    with pytest.raises(LeakedSecretError, match="refusing to save"):
        cassette.save()
    trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED, outputs={"seen": f"got {secret}", "as_json": json.dumps([secret])})
    redact_trace(trace, secrets_of(configs.values(), {"--llm-api-key": llm_key})).write(tmp_path / "traces")
    assert_absent(tmp_path, secret)


def test_meta_given_by_the_caller_is_redacted_and_scanned_too(tmp_path):
    cassette = Cassette.open(tmp_path / "c.yaml", "once")
    cassette.record("mcp", "api", "s", "tools/call", {"name": "t"}, {"result": {}})
    cassette.add_credential("flowtape-cli-key-42", "--llm-api-key")
    with pytest.raises(LeakedSecretError, match=r"\$\.meta\.llm\.note \(value of --llm-api-key\)"):
        cassette.save({"llm": {"note": "recorded with flowtape-cli-key-42"}})
    assert cassette.save({"llm": {"note": "fine"}, "servers": {"db": {"url": "https://u:pw-in-meta@db.example/x?api_key=q-key"}}})
    text = (tmp_path / "c.yaml").read_text()
    assert "pw-in-meta" not in text and "q-key" not in text


# -- known shapes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("connect to postgres://app:s3cr3t@db:5432/x now", "connect to postgres://app:<redacted>@db:5432/x now"),
    ("mysql://root:p%40ss@localhost/db", "mysql://root:<redacted>@localhost/db"),
    ("clone https://ghp_abcdef123456@github.com/o/r.git", "clone https://<redacted>@github.com/o/r.git"),
    ("see https://api.example/v1?q=1&api_key=abc123&access_token=t0k#frag", "see https://api.example/v1?q=1&api_key=<redacted>&access_token=<redacted>#frag"),
    ("ssh://git@github.com/o/r and mail a@b.example", "ssh://git@github.com/o/r and mail a@b.example"),
    ("https://api.example/v1?max_tokens=5&page=2", "https://api.example/v1?max_tokens=5&page=2"),
])
def test_credentials_in_urls_are_redacted_anywhere_in_a_string(text, expected):
    assert redact_text(text) == expected


def test_a_url_credential_in_a_recorded_response_is_redacted_and_still_replays(tmp_path):
    cassette = Cassette.open(tmp_path / "c.yaml", "once")
    request = {"name": "connect", "arguments": {"dsn": "postgres://app:req-pw-1@db/x"}}
    cassette.record("mcp", "db", "c", "tools/call", request, {"result": {"content": [{"type": "text", "text": "ok postgres://app:resp-pw-2@db/x"}]}})
    assert cassette.save()
    text = (tmp_path / "c.yaml").read_text()
    assert "req-pw-1" not in text and "resp-pw-2" not in text and "postgres://app:<redacted>@db/x" in text
    assert Cassette.open(tmp_path / "c.yaml", "none").lookup("mcp", "db", "c", "tools/call", request) is not None


# -- traces -----------------------------------------------------------------------------------------


def http_trace(secret: str) -> Trace:
    params = {"url": f"https://api.example/v1/items?api_key={quote(secret, safe='')}&page=1", "auth_token": secret,
              "headers": {"Authorization": f"Bearer {secret}", "X-Api-Key": secret, "Cookie": f"sid={secret}", "Accept": "application/json"},
              "body": {"note": f"dsn postgres://app:{quote(secret, safe='')}@db/x"}}
    step = StepRecord(step_id="fetch", kind="http", node_type="http", params=params,
                      output={"response": {"echo": f"known value {secret} echoed"}, "status_code": 200},
                      error=f"GET https://app:{quote(secret, safe='')}@api.example/v1 failed")
    return Trace(run_id="r1", workflow_hash="h", status=RunStatus.PASSED, inputs={"password": secret},
                 outputs={"said": json.dumps({"k": secret})}, steps=[step])


@pytest.mark.parametrize("secret", CORPUS)
def test_a_written_trace_holds_no_secret_in_any_form(tmp_path, secret):
    trace = http_trace(secret)
    redact_trace(trace, {secret: "--llm-api-key"}).write(tmp_path)
    assert_absent(tmp_path, secret)
    stored = json.loads((tmp_path / "r1.json").read_text())
    params = stored["steps"][0]["params"]
    assert params["auth_token"] == REDACTED and params["headers"]["Accept"] == "application/json"
    assert params["headers"]["Authorization"] == REDACTED and params["url"].endswith("api_key=<redacted>&page=1")
    assert stored["steps"][0]["output"]["status_code"] == 200  # numbers and ordinary data stay


def test_a_field_holding_bearer_or_basic_credentials_is_redacted_whatever_its_name():
    import base64

    basic = "Basic " + base64.b64encode(b"ada:hunter2-pw").decode()
    trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED,
                  outputs={"x-upstream": "Bearer eyJhbGciOi.J9.sig-123", "via": basic, "prose": "Bearer authentication", "style": "Basic settings"})
    assert redact_trace(trace, {}).outputs == {"x-upstream": REDACTED, "via": REDACTED, "prose": "Bearer authentication", "style": "Basic settings"}
    found = server_credentials(parse_mcp_config({"mcpServers": {"a": {"url": "https://x.example/mcp", "headers": {"X-Forward": basic}}}})["a"])
    assert {"ada:hunter2-pw", "hunter2-pw", basic} <= set(found)


def test_trace_redaction_keeps_ordinary_fields_that_only_look_secret():
    trace = Trace(run_id="r", workflow_hash="h", status=RunStatus.PASSED,
                  outputs={"author": "Ada Lovelace", "keywords": "a, b", "max_tokens": 5, "prompt_tokens": "12", "api_key_header": "X-API-Key"})
    assert redact_trace(trace, {}).outputs == trace.outputs


# -- real servers ------------------------------------------------------------------------------------

ECHO_SERVER = textwrap.dedent(
    """
    import json, os, sys
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("echo", log_level="WARNING")

    @server.tool(description="The value of one of the server's environment variables")
    def env(name: str) -> str:
        return os.environ.get(name, "")

    @server.tool(description="The value as JSON text")
    def env_json(name: str) -> str:
        return json.dumps({name: os.environ.get(name, "")})

    @server.tool(description="The server's command-line arguments")
    def argv() -> str:
        return " ".join(sys.argv[1:])

    @server.tool(description="Echo the text")
    def echo(text: str) -> str:
        return text

    server.run("stdio")
    """
)


def calls(*nodes: tuple[str, str, dict]) -> dict:
    items = [{"id": i, "type": f"mcp-echo-{tool}", "params": params} for i, tool, params in nodes]
    return {"ir_version": "0.1.0", "nodes": items, "edges": [{"from": a["id"], "to": b["id"]} for a, b in zip(items, items[1:])],
            "outputs": {i: "${" + i + ".result}" for i, _, _ in nodes}}


def record(tmp_path: Path, servers: dict, doc: dict) -> tuple[Trace, Cassette]:
    cassette = Cassette.open(tmp_path / "out" / "echo.yaml", "once")
    with CassetteMCPClient(parse_mcp_config({"mcpServers": servers}), cassette) as client:
        trace = execute(doc, runtime=Runtime(mcp=client))
        meta = client.server_meta()
    assert trace.status is RunStatus.PASSED, trace.error
    cassette.save({"servers": meta})
    return trace, cassette


@pytest.fixture(autouse=True)
def _outside_ci(monkeypatch):
    """These tests record cassettes, which flowtape refuses under CI: run them as a developer would."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def echo_server(tmp_path: Path) -> dict:
    script = tmp_path / "echo_server.py"
    script.write_text(ECHO_SERVER)
    return {"command": sys.executable, "args": [str(script)]}


def test_a_real_server_echoing_a_password_with_quotes_backslashes_tabs_and_newlines_is_refused(tmp_path, echo_server):
    password, token = 'pa"ss\\word', "tab\there\nnew-line"
    servers = {"echo": {**echo_server, "env": {"DB_PASSWORD": password, "API_TOKEN": token}}}
    doc = calls(("pw", "env", {"name": "DB_PASSWORD"}), ("tok", "env_json", {"name": "API_TOKEN"}))
    with pytest.raises(LeakedSecretError) as caught:
        record(tmp_path, servers, doc)
    message = str(caught.value)
    assert "refusing to save" in message and "value of DB_PASSWORD" in message and "value of API_TOKEN" in message
    assert password not in message and "\n" not in message
    assert not (tmp_path / "out").exists() or assert_absent(tmp_path / "out", password, token) == []


def write_task(folder: Path, servers: dict, nodes: list[dict], outputs: dict, inputs: dict | None = None) -> Path:
    task = folder / "goldens" / "t"
    (task / "cases").mkdir(parents=True)
    (task / "task.yaml").write_text(yaml.safe_dump({"version": 1, "description": "secrets", "servers": servers}))
    (task / "workflow.json").write_text(json.dumps({"ir_version": "0.1.0", "inputs": inputs or {}, "nodes": nodes, "outputs": outputs,
                                                    "edges": [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:])]}))
    (task / "cases" / "one.yaml").write_text("version: 1\n")
    return folder / "goldens"


def test_a_real_server_given_secret_args_records_them_redacted_and_refuses_their_echo(tmp_path, echo_server):
    from harness.goldens import load_suite
    from harness.suite import run_case

    key, token, dsn_pw = "arg-key-'q\"uoted'", "arg-token-\\back", "evalpw-123"
    servers = {"echo": {**echo_server, "args": [*echo_server["args"], f"--api-key={key}", "--token", token, "--verbose"]}}
    # Through a golden task (meta copied from task.yaml), judged: the failing check quotes the output.
    nodes = [{"id": "hi", "type": "mcp-echo-echo", "params": {"text": "${dsn}"}}]
    suite = write_task(tmp_path, servers, nodes, {"said": "${hi.result}"}, {"dsn": {"type": "string", "required": True}})
    (suite / "t" / "cases" / "one.yaml").write_text(yaml.safe_dump({"version": 1, "inputs": {"dsn": f"postgres://app:{dsn_pw}@db/x"},
                                                                    "outputs": {"said": [{"Contains": "not-there"}]}}))
    [task] = load_suite(suite)
    run = run_case(task, task.cases[0], cassettes=tmp_path / "out", mode="once", evaluate=True)
    assert run.saved and [r.passed for r in run.evaluations] == [False]
    assert dsn_pw not in run.evaluations[0].reason and "postgres://app:<redacted>@db/x" in run.evaluations[0].reason
    run.trace.write(tmp_path / "out" / "traces")
    text = run.cassette.path.read_text()
    assert "--api-key=<redacted>" in text and "--verbose" in text and "postgres://app:<redacted>@db/x" in text
    assert_absent(tmp_path / "out", key, token, dsn_pw)
    # Through the client as `flowtape run` uses it: a server that echoes its args is refused.
    with pytest.raises(LeakedSecretError, match=r"value of mcpServers\.echo\.args\[\d\]"):
        record(tmp_path, servers, calls(("argv", "argv", {})))
    assert not (tmp_path / "out" / "echo.yaml").exists()
    assert_absent(tmp_path / "out", key, token, dsn_pw)


def test_http_server_headers_and_url_tokens_never_reach_the_cassette_or_the_trace(tmp_path, http_url, monkeypatch):
    from harness.goldens import load_suite
    from harness.suite import run_case
    from harness.suiterun import SuiteOptions, run_suite

    bearer, literal, url_token = 'bearer-"val\\ue"', "literal-x-api-key-value", "url token/with?odd&chars"
    monkeypatch.setenv("MCP_BEARER", bearer)  # not a secret-looking name: known only as a header value
    servers = {"adder": {"url": f"{http_url}?access_token={quote(url_token, safe='')}",
                         "headers": {"Authorization": "Bearer ${MCP_BEARER}", "X-Api-Key": literal}}}
    nodes = [{"id": "sum", "type": "mcp-adder-add", "params": {"a": 2, "b": 40}}]
    suite = write_task(tmp_path, servers, nodes, {"sum": "${sum.result.result}"})
    [task] = load_suite(suite)
    run = run_case(task, task.cases[0], cassettes=tmp_path / "cassettes", mode="once")
    assert run.trace.status is RunStatus.PASSED and run.saved, run.trace.error
    meta = yaml.safe_load(run.cassette.path.read_text())["meta"]["servers"]["adder"]
    assert meta["headers"] == {"Authorization": REDACTED, "X-Api-Key": REDACTED}
    assert meta["url"].endswith("?access_token=<redacted>")
    # The suite replays it and writes traces and the ledger: none of it holds a credential.
    reports = tmp_path / "reports"
    result = run_suite(SuiteOptions(suite=suite, cassettes=tmp_path / "cassettes", traces=reports / "traces", ledger=reports / "ledger.duckdb"))
    assert result.exit_code == 0
    # The same server through `flowtape run --mcp-config`: server_meta is written from the resolved config.
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": servers}))
    workflow = suite / "t" / "workflow.json"
    out = CliRunner().invoke(app, ["run", str(workflow), "--mcp-config", str(config), "--cassette", str(tmp_path / "cli" / "c.yaml"),
                                   "--record-mode", "once", "--trace-dir", str(tmp_path / "cli" / "traces")])
    assert out.exit_code == 0, out.output
    # What flowtape wrote (not task.yaml and mcp.json, which the user wrote the literals into).
    files = [f for folder in ("cassettes", "reports", "cli") for f in assert_absent(tmp_path / folder, bearer, literal, url_token)]
    assert any(p.suffix == ".json" and "traces" in p.parts for p in files) and any(p.suffix == ".yaml" for p in files)


# -- --llm-api-key, through a real OpenAI-compatible server that echoes the key ---------------------


class _EchoKeyHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that answers with the bearer token it was sent, as a
    misbehaving proxy might."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        key = (self.headers.get("authorization") or "").removeprefix("Bearer ")
        body = json.dumps({"id": "c1", "object": "chat.completion", "created": 0, "model": "echo",
                           "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": f"your key is {key}"}}],
                           "usage": {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoKeyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


LLM_WORKFLOW = {"ir_version": "0.1.0", "nodes": [{"id": "ask", "type": "llm", "params": {"prompt": "what is my key?", "model": "openai/echo"}}],
                "outputs": {"answer": "${ask.response}"}}


def test_the_llm_api_key_echoed_back_is_refused_in_a_cassette_and_redacted_in_a_trace(tmp_path, echo_llm):
    key = 'sk-cli-"key"\\with-escapes'
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps(LLM_WORKFLOW))
    base = ["run", str(workflow), "--llm-api-base", echo_llm, "--llm-api-key", key]
    out = CliRunner().invoke(app, [*base, "--cassette", str(tmp_path / "out" / "c.yaml"), "--record-mode", "once",
                                   "--trace-dir", str(tmp_path / "out" / "traces")])
    assert out.exit_code == 2, out.output
    assert "refusing to save" in out.output and "value of --llm-api-key" in out.output and len(out.output.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "c.yaml").exists()
    # Without a cassette the answer is only traced: the key is redacted in place.
    out = CliRunner().invoke(app, [*base, "--format", "json", "--trace-dir", str(tmp_path / "out" / "traces")])
    assert out.exit_code == 0, out.output
    trace = json.loads(Path(json.loads(out.stdout)["trace"]).read_text())
    assert trace["outputs"]["answer"] == f"your key is {REDACTED}"
    assert_absent(tmp_path / "out", key)


def test_record_registers_its_llm_api_key_as_a_known_secret(tmp_path, echo_llm):
    from harness.goldens import load_suite
    from harness.suite import LLMSettings, run_case

    key = "sk-record-key\tabcdef"
    suite = write_task(tmp_path, {}, [{"id": "ask", "type": "llm", "params": {"prompt": "key?"}}], {"answer": "${ask.response}"})
    [task] = load_suite(suite)
    with pytest.raises(LeakedSecretError, match=r"value of --llm-api-key"):
        run_case(task, task.cases[0], cassettes=tmp_path / "cassettes", mode="once", llm=LLMSettings(api_base=echo_llm, api_key=key, model="openai/echo"))
    assert not (tmp_path / "cassettes").exists() or assert_absent(tmp_path / "cassettes", key) == []


def test_a_real_http_node_traces_its_auth_token_headers_and_url_redacted(tmp_path, echo_llm, monkeypatch):
    secret = 'svc-"tok"\\en-42'  # header-safe: no tab or newline
    monkeypatch.setenv("SERVICE_TOKEN", secret)  # known by its variable's name, so redacted wherever it appears
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({"ir_version": "0.1.0", "inputs": {"api_token": {"type": "string", "required": True}},
                                    "nodes": [{"id": "call", "type": "http", "params": {
                                        "url": f"{echo_llm}/chat/completions?api_key=${{api_token}}&v=1", "method": "POST", "body": {"q": 1},
                                        "auth_token": "${api_token}", "headers": {"X-Api-Key": "${api_token}", "Accept": "application/json"}}}],
                                    "outputs": {"said": "${call.response.choices[0].message.content}"}}))
    out = CliRunner().invoke(app, ["run", str(workflow), "-i", f"api_token={secret}", "--format", "json", "--trace-dir", str(tmp_path / "traces")])
    assert out.exit_code == 0, out.output
    trace = json.loads(Path(json.loads(out.stdout)["trace"]).read_text())
    params = trace["steps"][0]["params"]
    assert params["auth_token"] == REDACTED and params["headers"] == {"X-Api-Key": REDACTED, "Accept": "application/json"}
    assert params["url"].endswith("?api_key=<redacted>&v=1") and trace["inputs"] == {"api_token": REDACTED}
    assert trace["outputs"]["said"] == f"your key is {REDACTED}"  # the server echoed it: a known value, redacted in place
    assert_absent(tmp_path / "traces", secret)
