"""pflow compatibility: every case in `pflow_compat/` runs through flowtape's runner and gives
the outputs pflow-cli 0.16.0 gave (see pflow_compat/README.md for where those came from)."""

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.codeexec import run_code_node
from runner import InvalidWorkflow, RunStatus, execute, pflowmd
from runner.executor import Runtime
from runner.ir import OutputSpec
from runner.outputs import printed

CASES = Path(__file__).parent / "pflow_compat"

# Where flowtape deliberately differs from pflow 0.16, and why. Each difference has its own test.
DEVIATIONS = {
    "shell_no_escaping": "templated values reach shell commands through environment variables: no injection (test_shell_injection.py)",
    "nested_path_json_string": "an object templated bare into `echo` arrives quoted, so its JSON quotes survive (test_nodes_shell.py)",
    "escape_dollar": "its output holds the shell's process id ($$), which differs from run to run",
    "shell_structured_unquoted": "an object in a command is quoted JSON rather than rejected (test_nodes_shell.py)",
    "inputs_wrong_type": "an input value of the wrong type is a validation error, as the runner issue asks (test_validate.py)",
    "inputs_env_fallback": "a missing input is not read from an environment variable of the same name",
    "coalesce_bad_literal": "a single-quoted default ('x') is accepted as a string literal (test_templates.py)",
    "llm_no_provider": "an llm node with no model falls back to the default model instead of failing at compile time",
    "retry_node": "a code node runs in flowtape's sandbox, which sees no host file; this case counts its attempts in one (test_code_node.py counts them in its output)",
}


class Echo(BaseHTTPRequestHandler):
    def _go(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        if self.path.startswith("/text"):
            data, ctype, code = b"plain text body\n", "text/plain", 200
        elif self.path.startswith("/404"):
            data, ctype, code = json.dumps({"err": "nope"}).encode(), "application/json", 404
        else:
            data = json.dumps({"method": self.command, "path": self.path, "body": body, "ctype": self.headers.get("Content-Type"),
                               "auth": self.headers.get("Authorization"), "x": self.headers.get("X-Custom")}).encode()
            ctype, code = "application/json", 200
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _go

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def echo_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


# A case is `<name>.json` (JSON IR), `<name>.pflow.md` (pflow's markdown, which pflow 0.16's CLI
# runs), or both (twins: the same workflow, checked to give the same IR in test_pflowmd.py).
JSON_CASES = sorted(p.name[: -len(".json")] for p in CASES.glob("*.json") if not p.name.endswith((".observed.json", ".inputs.json", ".pflow_ir.json")))
MARKDOWN_CASES = sorted(p.name[: -len(".pflow.md")] for p in CASES.glob("*.pflow.md"))


def _cases(names):
    for name in names:
        marks = []
        if name in DEVIATIONS:
            marks.append(pytest.mark.skip(reason=f"deliberate difference: {DEVIATIONS[name]}"))
        yield pytest.param(name, id=name, marks=marks)


def _text(name, suffix, replacements):
    path = CASES / f"{name}{suffix}"
    if not path.exists():
        return None
    text = path.read_text()
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return text


def _load(name, replacements):
    def read(suffix):
        text = _text(name, suffix, replacements)
        return None if text is None else json.loads(text)

    return read(".json"), read(".inputs.json") or {}, read(".observed.json")


def _workspace(tmp_path, echo_url):
    """The run's folder: the cases' nested workflows and files beside it, and a scratch folder."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for folder in ("children", "files"):
        shutil.copytree(CASES / folder, tmp_path / folder)
    return {"__SCRATCH__": str(scratch), "__HTTP__": echo_url}


# Keys left out of the comparison: pflow's internal ones; a batch's timings (they differ every run);
# and a shell step's `command` (flowtape passes templated values as environment variables, a
# deliberate difference, so its command text names them) with the values it passed.
_NOT_COMPARED = ("timing", "command", "command_values")


def _drop_internal(value, also=()):
    if isinstance(value, dict):
        return {k: _drop_internal(v, also) for k, v in value.items() if not k.startswith("_pflow") and k not in _NOT_COMPARED and k not in also}
    if isinstance(value, list):
        return [_drop_internal(v, also) for v in value]
    return value


@pytest.mark.parametrize("name", list(_cases(JSON_CASES)))
def test_same_outputs_as_pflow(name, tmp_path, echo_url):
    document, inputs, observed = _load(name, _workspace(tmp_path, echo_url))
    _same_as_observed(document, inputs, observed, tmp_path)


@pytest.mark.parametrize("name", list(_cases(MARKDOWN_CASES)))
def test_same_outputs_as_pflow_from_markdown(name, tmp_path, echo_url):
    """The `.pflow.md` itself, read by flowtape's own parser (`runner.pflowmd`), as pflow ran it."""
    replacements = _workspace(tmp_path, echo_url)
    path = tmp_path / f"{name}.pflow.md"
    path.write_text(_text(name, ".pflow.md", replacements))
    _, inputs, observed = _load(name, replacements)
    try:
        document = pflowmd.read(path)
    except pflowmd.MarkdownError as err:
        assert observed["status"] == "failed", f"flowtape could not read what pflow ran: {err}"
        return
    _same_as_observed(document, inputs, observed, tmp_path)


def _same_as_observed(document, inputs, observed, tmp_path):
    # a code node runs in flowtape's sandbox (the harness's; the runner itself never runs code)
    runtime = Runtime(extra={"code_runner": run_code_node})
    try:
        trace = execute(document, inputs, base_dir=tmp_path, runtime=runtime)
    except InvalidWorkflow as err:
        assert observed["status"] == "failed", f"flowtape rejected what pflow ran: {err}"
        return
    if observed["status"] == "failed":
        assert trace.status is RunStatus.FAILED, f"pflow failed ({observed['error'][0]['message']}) but flowtape passed"
        return
    assert trace.status is RunStatus.PASSED, trace.error
    if "outputs" in observed:  # cases observed through pflow's CLI keep only what it printed
        assert _drop_internal(trace.outputs) == _drop_internal(observed["outputs"])
    # and as the command line prints them for machines (`flowtape run --format json`, pflow's `--output-format json`)
    specs = {name: OutputSpec.model_validate(spec) for name, spec in document.get("outputs", {}).items() if isinstance(spec, dict)}
    # (pflow's CLI writes a batch's failed item as a reference, `item_ref`/`has_full_item`; flowtape
    # prints the item itself, as the run's output holds it)
    cli_only = ("item", "exception", "item_ref", "has_full_item")
    assert _drop_internal(printed(trace.outputs, specs), cli_only) == _drop_internal(observed["outputs_cli_json"] if "outputs_cli_json" in observed else observed["outputs"], cli_only)


def test_every_deviation_names_an_existing_case():
    assert all((CASES / f"{name}.json").exists() or (CASES / f"{name}.pflow.md").exists() for name in DEVIATIONS)


@pytest.mark.parametrize("name", ["files_copy_exists", "files_delete_refused", "files_copy_folder", "files_delete_param"])
def test_file_nodes_fail_with_pflows_words(name, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    document, inputs, observed = _load(name, {"__SCRATCH__": str(scratch)})
    message = observed["error"][0]["message"]
    if observed["error"][0].get("category") == "validation":  # a param pflow refuses: refused before anything runs
        with pytest.raises(InvalidWorkflow, match="unknown param 'confirm_delete'"):
            execute(document, inputs, base_dir=tmp_path)
        assert not (scratch / "a.txt").exists()
        return
    trace = execute(document, inputs, base_dir=tmp_path)
    assert trace.status is RunStatus.FAILED and message in trace.error
    assert (scratch / "a.txt").read_text() == "hello"  # nothing was copied over, moved or deleted


def test_markdown_cases_are_found():
    # the twins run both ways; the markdown-only cases run from their markdown
    assert {"loop_until", "batch_fail_fast", "md_nested", "md_on_error"} <= set(MARKDOWN_CASES)
    assert "loop_until" in JSON_CASES and "md_nested" not in JSON_CASES
