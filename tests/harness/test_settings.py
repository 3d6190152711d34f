"""The project root found from any folder inside it, and its settings (harness.settings): every
command's defaults, ${ROOT} and the project's own places, timeouts; bad settings are one line."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from harness.gate import find_policy
from harness.goldens import GoldenError, Places, load_task
from harness.scaffold import scaffold
from harness.settings import SettingsError, find_root, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_the_root_is_found_from_any_folder_below(tmp_path: Path) -> None:
    (tmp_path / "flowtape.toml").write_text('suite = "suite"\n')
    deep = tmp_path / "suite" / "task" / "cases"
    deep.mkdir(parents=True)
    assert find_root(deep) == tmp_path
    settings = load_settings(deep)
    assert settings.source == tmp_path / "flowtape.toml"
    assert settings.suite == tmp_path / "suite" and settings.ledger == tmp_path / "reports/ledger.duckdb"


def test_a_pyproject_is_a_project_only_with_tool_flowtape(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.flowtape]\ncassettes = "tapes"\nworkers = 3\n')
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[project]\nname = 'a-server'\n")  # a server's own package
    settings = load_settings(inner)
    assert settings.root == tmp_path and settings.cassettes == tmp_path / "tapes" and settings.workers == 3


def test_outside_a_project_the_defaults_apply_relative_to_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.source is None and settings.suite == Path("goldens") and settings.places == {"ROOT": tmp_path.resolve()}


BAD = [
    ("flowtape.toml", "suit = 'x'\n", "flowtape.toml: suit: unknown key; did you mean 'suite'?"),
    ("flowtape.toml", "workers = 0\n", "flowtape.toml: workers: Input should be greater than or equal to 1"),
    ("flowtape.toml", "[timeouts]\nserver_strat = 5\n", "flowtape.toml: timeouts.server_strat: unknown key; did you mean 'server_start'?"),
    ("flowtape.toml", "[places]\ndata = 'd'\n", "flowtape.toml: places.data: a place is named in UPPER_CASE"),
    ("flowtape.toml", "[places]\nFIXTURES = 'd'\n", "flowtape.toml: places.FIXTURES: ${FIXTURES} is flowtape's own place"),
    ("flowtape.toml", "suite = [\n", "flowtape.toml: invalid TOML"),
    ("pyproject.toml", "[tool.flowtape]\nledgr = 'x'\n", "pyproject.toml: tool.flowtape.ledgr: unknown key; did you mean 'ledger'?"),
    ("pyproject.toml", "[tool.flowtap]\nledger = 'x'\n", "pyproject.toml: unknown table [tool.flowtap]; did you mean [tool.flowtape]?"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_settings_name_the_file_and_the_key(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path}/{message}")


def test_bad_settings_are_exit_2_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    (tmp_path / "flowtape.toml").write_text("suite = 'goldens'\ncasettes = 'x'\n")
    monkeypatch.chdir(tmp_path)
    result = cli("test")
    assert result.exit_code == 2
    assert result.stderr == f"flowtape: {tmp_path}/flowtape.toml: casettes: unknown key; did you mean 'cassettes'?\n"


def test_settings_and_the_gate_share_the_file(tmp_path: Path) -> None:
    (tmp_path / "flowtape.toml").write_text('suite = "g"\nworkers = 2\n[places]\nDATA = "data"\n[gate]\nmax_tokens_per_case = 10\n')
    assert find_policy(tmp_path / "g").policy.max_tokens_per_case == {"*": 10}
    (tmp_path / "flowtape.toml").write_text('suite = "g"\nworkrs = 2\n[gate]\nmax_tokens_per_case = 10\n')
    with pytest.raises(Exception, match=r"unknown key 'workrs'; did you mean 'workers'\?"):
        find_policy(tmp_path)


def test_flowtape_test_from_inside_a_task_folder_finds_the_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """Run from goldens/<task>/ with no arguments: the project's suite, cassettes and ledger
    (settings name them relative to the root, not to where the command runs)."""
    (tmp_path / "flowtape.toml").write_text('suite = "suite"\ncassettes = "tapes"\nledger = "out/ledger.duckdb"\ntraces = "out/traces"\n')
    shutil.copytree(REPO / "goldens" / "meeting-times", tmp_path / "suite" / "meeting-times")
    shutil.copytree(REPO / "cassettes" / "meeting-times", tmp_path / "tapes" / "meeting-times")
    monkeypatch.chdir(tmp_path / "suite" / "meeting-times" / "cases")
    result = cli("test", "--approach", "ir")
    assert result.exit_code == 0, result.output
    assert "8 cases: 8 passed, 0 failed" in result.stdout  # meeting-times' eight cases under ir
    assert (tmp_path / "out" / "ledger.duckdb").is_file() and any((tmp_path / "out" / "traces").iterdir())


def _data_task(root: Path) -> Path:
    """A shell task whose case reads a file through the project's own ${DATA} place."""
    (root / "data").mkdir()
    (root / "data" / "greeting.txt").write_text("hello from the data place")
    scaffold(root / "goldens", "greet")
    case = root / "goldens" / "greet" / "cases" / "example.yaml"
    text = case.read_text().replace("message: hello from flowtape", "message: ${DATA}/greeting.txt")
    case.write_text(text.replace("{Equals: hello from flowtape}", "{Equals: hello from the data place}"))
    workflow = root / "goldens" / "greet" / "workflow.json"
    workflow.write_text(workflow.read_text().replace("printf '%s' ${message}", "cat ${message}"))
    return root / "goldens" / "greet"


def test_root_and_the_projects_own_places_expand_in_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    (tmp_path / "flowtape.toml").write_text('[places]\nDATA = "data"\n')
    task = _data_task(tmp_path)
    places = Places.here(tmp_path / "work", project=task)
    assert places.expand("${ROOT}/x ${DATA}/y ${HOME}") == f"{tmp_path}/x {tmp_path}/data/y ${{HOME}}"  # not a place: left for the environment
    monkeypatch.chdir(task)
    recorded = cli("record", "--task", "greet")
    assert recorded.exit_code == 0, recorded.output
    replayed = cli("test")
    assert replayed.exit_code == 0, replayed.output
    assert "1 cases: 1 passed, 0 failed" in replayed.stdout or "1 case: 1 passed, 0 failed" in replayed.stdout
    (tmp_path / "flowtape.toml").write_text('[places]\nDATA = "elsewhere"\n')  # the place moves: the case reads from there
    assert cli("test").exit_code == 1


def test_a_place_the_project_does_not_define_is_not_expanded(tmp_path: Path) -> None:
    (tmp_path / "flowtape.toml").write_text("")
    task = _data_task(tmp_path)
    assert Places.here(tmp_path / "work", project=task).expand("${DATA}/greeting.txt") == "${DATA}/greeting.txt"


def test_invalid_settings_are_a_golden_error_when_a_task_loads(tmp_path: Path) -> None:
    (tmp_path / "flowtape.toml").write_text("[places]\nlower = 'x'\n")
    scaffold(tmp_path / "goldens", "hello")
    with pytest.raises(GoldenError, match="places.lower: a place is named in UPPER_CASE"):
        Places.here(tmp_path, project=tmp_path / "goldens" / "hello")
    with pytest.raises(GoldenError, match=r"flowtape.toml: places.lower"):  # when the task loads, before any case runs
        load_task(tmp_path / "goldens" / "hello")


def test_the_server_start_timeout_comes_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """A server that never answers `initialize` fails the record after the project's
    `timeouts.server_start`, not the default 30 s."""
    (tmp_path / "flowtape.toml").write_text("[timeouts]\nserver_start = 0.5\n")
    task = tmp_path / "goldens" / "silent"
    (task / "cases").mkdir(parents=True)
    (task / "task.yaml").write_text(f"version: 1\ndescription: a server that never answers\nservers:\n  mute:\n"
                                    f"    command: {sys.executable}\n    args: ['-c', 'import time; time.sleep(60)']\n")
    (task / "workflow.json").write_text('{"ir_version": "0.1.0", "nodes": [{"id": "call", "type": "mcp-mute-ping", "params": {}}], "edges": []}')
    (task / "cases" / "one.yaml").write_text("version: 1\nsteps:\n  call: [StepRan]\n")
    monkeypatch.chdir(tmp_path)
    result = cli("record", "--task", "silent")
    assert result.exit_code == 1, result.output
    assert "within 0.5 s" in result.output
    assert not (tmp_path / "cassettes" / "silent" / "one.ir.yaml").exists()
