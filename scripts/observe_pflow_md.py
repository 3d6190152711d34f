"""Observe what pflow-cli 0.16.0 does with the `.pflow.md` compat cases, for tests/runner/pflow_compat.

Run it with the Python of a scratch virtual environment OUTSIDE this repository that has
pflow-cli 0.16.0 installed (pflow is FSL-licensed: it is run, never vendored or imported here):

    python3 -m venv /tmp/pflowenv && /tmp/pflowenv/bin/pip install pflow-cli==0.16.0
    /tmp/pflowenv/bin/python scripts/observe_pflow_md.py tests/runner/pflow_compat md_nested md_on_error

For each case NAME it runs `pflow --output-format json NAME.pflow.md key=value...` (inputs from
NAME.inputs.json) in a temporary folder holding the cases' children/ and files/, and writes
NAME.observed.json (what the CLI printed: outputs or errors) and NAME.pflow_ir.json (the IR
pflow's own markdown parser built from the file, as data).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PFLOW = Path(sys.executable).with_name("pflow")


def _ir(path: Path) -> dict | None:
    # pflow's parser, run in its own environment's interpreter; only its output is kept
    probe = ("import json, sys\nfrom pflow.core.markdown_parser import parse_markdown\n"
             "print(json.dumps(parse_markdown(open(sys.argv[1], encoding='utf-8').read()).ir))")
    run = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True)
    return json.loads(run.stdout) if run.returncode == 0 else None


def observe(cases: Path, name: str) -> dict:
    md = cases / f"{name}.pflow.md"
    inputs_file = cases / f"{name}.inputs.json"
    inputs = json.loads(inputs_file.read_text()) if inputs_file.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for folder in ("children", "files"):
            if (cases / folder).is_dir():
                shutil.copytree(cases / folder, work / folder)
        (work / "scratch").mkdir()
        (work / md.name).write_text(md.read_text().replace("__SCRATCH__", str(work / "scratch")))
        args = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in inputs.items()]
        run = subprocess.run([str(PFLOW), "--output-format", "json", str(work / md.name), *args],
                             capture_output=True, text=True, cwd=work, stdin=subprocess.DEVNULL)
        # paths in messages as the tests' placeholder
        printed = json.loads(run.stdout.replace(str(work / "scratch"), "__SCRATCH__"))
    observed: dict = {"inputs": inputs}
    if printed.get("success"):
        # what its command line printed (JSON-looking strings already parsed): compared with
        # flowtape's `run --format json` form, and with the trace's outputs where they agree
        observed.update(outputs_cli_json=printed.get("result") or {}, status="success")
    else:
        observed.update(status="failed", error=[{k: e[k] for k in ("message", "node_id", "category") if e.get(k) is not None}
                                                for e in printed.get("errors", [])])
    given = "".join(f" {k}=..." for k in inputs)
    observed["observed_from"] = f"{md.name}, run by pflow-cli 0.16.0 (`pflow --output-format json {md.name}{given}`)"
    (cases / f"{name}.observed.json").write_text(json.dumps(observed, indent=2, ensure_ascii=False) + "\n")
    ir = _ir(md)
    if ir is not None:
        (cases / f"{name}.pflow_ir.json").write_text(json.dumps(ir, indent=2, ensure_ascii=False) + "\n")
    return observed


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    for case in sys.argv[2:]:
        result = observe(folder, case)
        print(case, result["status"], json.dumps(result.get("outputs", result.get("error")))[:200])
