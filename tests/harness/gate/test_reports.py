"""The JUnit XML CI systems read, and the markdown summary for a CI step or a PR comment."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import JUnitXml

from harness.gate import GATE_SUITE, Policy, gate, render_markdown, write_junit
from tests.harness.gate._ledgers import CONTEXT, ROOT, specs, write_run

POLICY = Policy.model_validate({
    "min_pass_rate": {"code": 0.5},
    "max_tokens_per_step": {"*": 1800},
    "max_schema_tokens": {"time": 200},
    "max_regression": {"tokens": {"relative": 0.1}, "cost": {"relative": 0.5}},
})

# The JUnit schema Jenkins reads (jenkinsci/xunit-plugin, junit-10.xsd), as rules: which children
# and attributes each element may have, which attributes it must have, and the time format.
ALLOWED_CHILDREN = {
    "testsuites": {"testsuite"},
    "testsuite": {"testsuite", "properties", "testcase", "system-out", "system-err"},
    "testcase": {"skipped", "error", "failure", "rerunFailure", "rerunError", "flakyFailure", "flakyError", "system-out", "system-err"},
    "failure": set(), "error": set(), "skipped": set(), "system-out": set(), "system-err": set(),
}
ALLOWED_ATTRIBUTES = {
    "testsuites": {"name", "time", "tests", "failures", "errors"},
    "testsuite": {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"},
    "testcase": {"name", "time", "classname", "group"},
    "failure": {"type", "message"}, "error": {"type", "message"}, "skipped": {"type", "message"},
    "system-out": set(), "system-err": set(),
}
REQUIRED_ATTRIBUTES = {"testsuite": {"name", "tests", "failures", "errors"}, "testcase": {"name"}}
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")


def check_junit_schema(element: ET.Element) -> None:
    tag = element.tag
    assert tag in ALLOWED_ATTRIBUTES, tag
    assert set(element.attrib) <= ALLOWED_ATTRIBUTES[tag], (tag, element.attrib)
    assert REQUIRED_ATTRIBUTES.get(tag, set()) <= set(element.attrib), (tag, element.attrib)
    if "time" in element.attrib and tag in ("testsuites", "testsuite"):
        assert SUREFIRE_TIME.fullmatch(element.attrib["time"]), element.attrib["time"]
    for child in element:
        assert child.tag in ALLOWED_CHILDREN[tag], (tag, child.tag)
        check_junit_schema(child)


def check_counts(root: ET.Element) -> None:
    """Each suite's counts are of its test cases; the root's are the suites' sums."""
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        counted = {"tests": len(cases), "failures": sum(1 for c in cases if c.find("failure") is not None),
                   "errors": sum(1 for c in cases if c.find("error") is not None)}
        assert {k: int(suite.attrib[k]) for k in counted} == counted, suite.attrib["name"]
        for key in totals:
            totals[key] += counted[key]
    assert {k: int(root.attrib[k]) for k in totals} == totals


def failing_result(tmp_path: Path):
    path = tmp_path / "l.duckdb"
    write_run(path, "base", specs(), context=CONTEXT)
    write_run(path, "now", specs(**{
        "lisbon-tokyo/ir": {"tool_tokens": 2000},                       # step over its limit, and +100%
        "new-york-berlin/code": {"cost_usd": 0.0016, "failed": ("outputs.answer",)},  # +60% cost; a failed check min_pass_rate allows
    }), context=CONTEXT)
    return gate(path, POLICY, baseline="base", cassettes=ROOT / "cassettes")


def test_junit_has_a_test_case_per_case_and_approach_and_a_failure_per_rule(tmp_path: Path) -> None:
    result = failing_result(tmp_path)
    target = write_junit(result, tmp_path / "reports" / "gate.xml")
    root = ET.parse(target).getroot()
    check_junit_schema(root)
    check_counts(root)
    assert root.tag == "testsuites" and root.attrib["tests"] == "5" and root.attrib["failures"] == "3"
    cases = {(c.attrib["classname"], c.attrib["name"]): c for c in root.iter("testcase")}
    assert set(cases) == {("meeting-times", f"{case} [{a}]") for case in ("lisbon-tokyo", "new-york-berlin") for a in ("ir", "code")} | {
        (GATE_SUITE, "server time")}
    lisbon = cases[("meeting-times", "lisbon-tokyo [ir]")].findall("failure")
    assert [f.attrib["type"] for f in lisbon] == ["max_regression.tokens", 'max_tokens_per_step."*"', "max_regression.tokens"]
    assert lisbon[0].attrib["message"] == ("meeting-times/lisbon-tokyo [ir] step convert: tokens 2,000 > 1,100 (max_regression.tokens); "
                                           "baseline 1,000 (+100.0%) -- allowed growth: relative 0.1")
    assert lisbon[0].text == lisbon[0].attrib["message"]
    allowed = cases[("meeting-times", "new-york-berlin [code]")]
    assert [f.attrib["type"] for f in allowed.findall("failure")] == ["max_regression.cost", "max_regression.cost"]
    assert "allowed by min_pass_rate" in allowed.find("system-out").text and "outputs.answer Equals" in allowed.find("system-out").text
    assert cases[("meeting-times", "lisbon-tokyo [code]")].find("failure") is None
    # junitparser reads it back
    xml = JUnitXml.fromfile(str(target))
    assert sum(1 for suite in xml for case in suite if case.is_failure) == 3


def test_junit_of_a_passing_run(ledger: Path, tmp_path: Path) -> None:
    target = write_junit(gate(ledger), tmp_path / "gate.xml")
    root = ET.parse(target).getroot()
    check_junit_schema(root)
    check_counts(root)
    assert (root.attrib["tests"], root.attrib["failures"]) == ("4", "0")


def test_markdown_summary(tmp_path: Path) -> None:
    text = render_markdown(failing_result(tmp_path))
    lines = text.splitlines()
    assert lines[0] == "## ❌ flowtape gate failed: 6 failures"
    assert lines[2] == "run `now` · baseline: run base · policy: none found (defaults: every case must pass its golden checks)"
    rows = [line for line in lines if re.match(r"\| \d+ \|", line)]
    # the largest regression first (the step +100%, twice: against its baseline and over its limit),
    # then the case's tokens +89.3%, its cost +60%, and last what has no baseline (the schema)
    assert [row.split(" | ")[1:6] + [row.split(" | ")[10]] for row in rows] == [
        ["meeting-times", "lisbon-tokyo", "ir", "`convert`", "tokens", "`max_regression.tokens`"],
        ["meeting-times", "lisbon-tokyo", "ir", "`convert`", "tokens", '`max_tokens_per_step."*"`'],
        ["meeting-times", "lisbon-tokyo", "ir", "—", "tokens", "`max_regression.tokens`"],
        ["meeting-times", "new-york-berlin", "code", "—", "cost_usd", "`max_regression.cost`"],
        ["meeting-times", "new-york-berlin", "code", "`call-2:llm`", "cost_usd", "`max_regression.cost`"],
        ["—", "—", "—", "server `time`", "schema_tokens", "`max_schema_tokens.time`"],
    ]
    assert rows[0].split(" | ")[6:10] == ["2,000", "≤ 1,100", "1,000", "+100.0%"]
    assert "| approach | cases | pass rate | tokens/run | cost/run |" in lines
    assert "| code | 2 | 1/2 · 50.0% (baseline 100.0%, -50.0%) | 1,120 (baseline 1,120, +0.0%) | $0.001300 (baseline $0.001000, +30.0%) |" in lines
    assert "| ir | 2 | 2/2 · 100.0% (baseline 100.0%, +0.0%) | 1,620 (baseline 1,120, +44.6%) | $0.001000 (baseline $0.001000, +0.0%) |" in lines
    assert any(line.startswith("- 1 code case(s) failed golden checks, allowed by min_pass_rate.code = 0.5") for line in lines)
    # the way to what changed, from the failures (both runs are in the one ledger)
    ledger = next(line for line in lines if line.startswith("What changed, case by case"))
    assert ledger.endswith(f"`flowtape diff base now --ledger {tmp_path / 'l.duckdb'}`")


def test_markdown_of_a_passing_run(ledger: Path) -> None:
    text = render_markdown(gate(ledger))
    assert text.startswith("## ✅ flowtape gate passed\n")
    assert "Failures" not in text and "| ir | 2 | 2/2 · 100.0% | 1,120 | $0.001000 |" in text
