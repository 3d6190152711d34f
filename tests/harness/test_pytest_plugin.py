"""The pytest plugin collects golden cases as items and fails with the per-step reasons."""

import shutil
from pathlib import Path

import yaml

pytest_plugins = ["pytester"]  # items run in a subprocess: native extensions do not survive in-process re-imports
ROOT = Path(__file__).resolve().parents[2]


def copy_suite(pytester):
    shutil.copytree(ROOT / "goldens/meeting-times", pytester.path / "goldens/meeting-times")
    shutil.copytree(ROOT / "cassettes/meeting-times", pytester.path / "cassettes/meeting-times")
    return pytester.path / "goldens/meeting-times/cases/lisbon-tokyo.yaml"


def test_golden_cases_are_collected_and_pass(pytester):
    copy_suite(pytester)
    result = pytester.runpytest_subprocess("goldens", "-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*meeting-times/lisbon-tokyo?ir? PASSED*", "*meeting-times/lisbon-tokyo?code? PASSED*"])


def test_a_failing_case_reports_each_failing_step(pytester):
    case = copy_suite(pytester)
    spec = yaml.safe_load(case.read_text())
    spec["outputs"]["difference"] = [{"Equals": "+1.0h"}]
    case.write_text(yaml.safe_dump(spec))
    result = pytester.runpytest_subprocess("goldens", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)  # the output is judged under both approaches
    result.stdout.fnmatch_lines(["*outputs.difference  Equals: *+1.0h*"])


def test_a_bad_case_file_is_a_collection_error_naming_it(pytester):
    case = copy_suite(pytester)
    case.write_text(case.read_text() + "surprise: 1\n")
    result = pytester.runpytest_subprocess("goldens", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*lisbon-tokyo.yaml: surprise: unknown key*"])
    assert result.ret != 0
