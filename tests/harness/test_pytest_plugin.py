"""The pytest plugin collects golden cases as items and fails with the per-step reasons."""

import shutil
from pathlib import Path

import pytest
import yaml

# Imported here, before pytester snapshots sys.modules: duckdb cannot be imported a second time.
from harness.accounting import query

pytest_plugins = ["pytester"]  # items run in a subprocess: native extensions do not survive in-process re-imports
# The pytest runs under test load no hypothesis plugin (`-p no:hypothesispytest`: ~1.5 s of
# imports each, and these tests are about flowtape's plugin); xdist passes it on to its workers.
ROOT = Path(__file__).resolve().parents[2]


def copy_suite(pytester):
    """meeting-times with two of its cases, lisbon-tokyo and new-york-berlin, and their cassettes."""
    shutil.copytree(ROOT / "goldens/meeting-times", pytester.path / "goldens/meeting-times")
    shutil.copytree(ROOT / "cassettes/meeting-times", pytester.path / "cassettes/meeting-times")
    for case in (pytester.path / "goldens/meeting-times/cases").glob("*.yaml"):
        if case.stem not in ("lisbon-tokyo", "new-york-berlin"):
            case.unlink()
    return pytester.path / "goldens/meeting-times/cases/lisbon-tokyo.yaml"


def test_golden_cases_are_collected_and_pass(pytester):
    copy_suite(pytester)
    result = pytester.runpytest_subprocess("goldens", "-v", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    # direct is SmolLM2 calling the tools itself, recorded: it gives no answer in either case.
    result.assert_outcomes(passed=4, failed=2)
    result.stdout.fnmatch_lines(["*meeting-times/lisbon-tokyo?ir? PASSED*", "*meeting-times/lisbon-tokyo?code? PASSED*",
                                 "*meeting-times/lisbon-tokyo?direct? FAILED*"])
    result.stdout.fnmatch_lines(["run failed: no final answer after 2 turns (max_turns)"])


def test_a_failing_case_reports_each_failing_step(pytester):
    case = copy_suite(pytester)
    spec = yaml.safe_load(case.read_text())
    spec["outputs"]["difference"] = [{"Equals": "+1.0h"}]
    case.write_text(yaml.safe_dump(spec))
    result = pytester.runpytest_subprocess("goldens", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=2, failed=4)  # the output is judged under every approach (direct fails anyway)
    result.stdout.fnmatch_lines(["*outputs.difference  Equals: *+1.0h*"])


def test_a_bad_case_file_is_a_collection_error_naming_it(pytester):
    case = copy_suite(pytester)
    case.write_text(case.read_text() + "surprise: 1\n")
    result = pytester.runpytest_inprocess("goldens", "-p", "no:cacheprovider")  # a collection error runs no item
    result.stdout.fnmatch_lines(["*lisbon-tokyo.yaml: surprise: unknown key*"])
    assert result.ret != 0


def ledger_rows(pytester, sql):
    return query(pytester.path / "reports/ledger.duckdb", sql)[1]


def test_items_carry_the_flowtape_marker_with_task_case_and_approach(pytester):
    copy_suite(pytester)

    def selected(*marker):
        # Collection runs no item (no case replays, no ledger opens): in-process is safe here.
        result = pytester.runpytest_inprocess("goldens", "--collect-only", "-q", "-p", "no:cacheprovider", *marker)
        return sorted(line.split("::")[-1] for line in result.stdout.lines if "::" in line)

    everything = [f"meeting-times/{case}[{approach}]" for case in ("lisbon-tokyo", "new-york-berlin") for approach in ("code", "direct", "ir")]
    assert selected("-m", "flowtape") == everything
    assert selected("-m", "flowtape(approach='ir')") == everything[2::3]
    assert selected("-m", "flowtape(approach='direct')") == everything[1::3]
    assert selected("-m", "flowtape(task='meeting-times', case='lisbon-tokyo', approach='code')") == everything[:1]
    assert selected("-m", "not flowtape") == []


def test_a_pytest_session_is_one_ledger_run_with_its_cases_and_traces(pytester):
    copy_suite(pytester)
    pytester.runpytest_subprocess("goldens", "-k", "lisbon", "-p", "no:cacheprovider", "-p", "no:hypothesispytest").assert_outcomes(passed=2, failed=1)
    runs = ledger_rows(pytester, "SELECT run_id, status, settings FROM runs")
    assert len(runs) == 1 and runs[0][1] == "completed" and '"runner": "pytest"' in runs[0][2]
    run_id = runs[0][0]
    cases = ledger_rows(pytester, "SELECT task, \"case\", approach, status FROM cases ORDER BY approach")
    assert cases == [("meeting-times", "lisbon-tokyo", "code", "passed"), ("meeting-times", "lisbon-tokyo", "direct", "failed"),
                     ("meeting-times", "lisbon-tokyo", "ir", "passed")]
    assert ledger_rows(pytester, "SELECT count(*) FROM tool_calls")[0][0] > 0
    assert ledger_rows(pytester, "SELECT count(*) FROM llm_calls WHERE approach = 'direct' AND usage_source = 'provider'")[0][0] == 2
    assert len(list((pytester.path / "reports/traces" / run_id).glob("*.json"))) == 3
    assert not (pytester.path / "reports/ledger.duckdb.parts").exists()  # merged and cleaned up


def test_stopping_at_the_first_failure_leaves_an_interrupted_run_with_what_ran(pytester):
    case = copy_suite(pytester)
    spec = yaml.safe_load(case.read_text())
    spec["outputs"]["difference"] = [{"Equals": "+1.0h"}]
    case.write_text(yaml.safe_dump(spec))
    result = pytester.runpytest_subprocess("goldens", "-x", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(failed=1)
    assert ledger_rows(pytester, "SELECT status FROM runs") == [("interrupted",)]
    assert ledger_rows(pytester, "SELECT approach FROM cases") == [("ir",)]  # the one item that ran
    failed = ledger_rows(pytester, "SELECT target, evaluator FROM evaluations WHERE NOT passed")
    assert failed == [("outputs.difference", "Equals")]


def test_no_ledger_writes_nothing(pytester):
    copy_suite(pytester)
    pytester.runpytest_subprocess("goldens", "--flowtape-no-ledger", "-p", "no:cacheprovider", "-p", "no:hypothesispytest").assert_outcomes(passed=4, failed=2)
    assert not (pytester.path / "reports").exists()


def test_the_projects_settings_place_the_cassettes_and_the_ledger(pytester):
    copy_suite(pytester)
    (pytester.path / "cassettes").rename(pytester.path / "tapes")
    (pytester.path / "flowtape.toml").write_text('cassettes = "tapes"\nledger = "out/runs.duckdb"\ntraces = "out/traces"\n')
    result = pytester.runpytest_subprocess("goldens", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=4, failed=2)  # two cases x (ir, code) pass; direct fails both
    assert query(pytester.path / "out/runs.duckdb", "SELECT count(*) FROM cases")[1] == [(6,)]
    assert not (pytester.path / "reports").exists()


def test_under_xdist_the_session_is_one_ledger_run_merged_by_the_controller(pytester):
    copy_suite(pytester)
    result = pytester.runpytest_subprocess("goldens", "-n", "2", "-v", "-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=4, failed=2)
    assert all(any(line.startswith(f"[{worker}]") for line in result.stdout.lines) for worker in ("gw0", "gw1"))  # both ran items
    runs = ledger_rows(pytester, "SELECT run_id, status, settings FROM runs")
    assert len(runs) == 1 and runs[0][1] == "completed" and '"xdist_workers": 2' in runs[0][2]
    cases = ledger_rows(pytester, 'SELECT "case", approach, status, run_id FROM cases ORDER BY ALL')
    assert [c[:3] for c in cases] == [(case, approach, "failed" if approach == "direct" else "passed")
                                      for case in ("lisbon-tokyo", "new-york-berlin") for approach in ("code", "direct", "ir")]
    assert {c[3] for c in cases} == {runs[0][0]}
    # each worker wrote a part of its own; the controller merged them and removed them
    assert ledger_rows(pytester, "SELECT count(DISTINCT trace_path) FROM cases") == [(6,)]
    assert not (pytester.path / "reports/ledger.duckdb.parts").exists()


def test_under_xdist_a_session_without_golden_items_writes_no_run(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "-p", "no:hypothesispytest").assert_outcomes(passed=2)
    assert not (pytester.path / "reports/ledger.duckdb").exists()
