"""Golden tasks and cases on disk, read strictly.

    goldens/<task>/task.yaml         what the task needs: MCP servers, fixtures, normalisation
    goldens/<task>/workflow.json     the IR approach (or workflow.pflow.md, pflow's markdown)
    goldens/<task>/baseline.py       the code approach
    goldens/<task>/cases/<case>.yaml inputs, and expectations per step and per output
    goldens/<task>/authored/<model>/workflow.json|baseline.py
                                     what `flowtape author` had a model write: the approach
                                     variants `ir@<model>` and `code@<model>`, run and judged
                                     (outputs only for ir: their nodes are not the golden's)

Values may name places that differ per machine, expanded when a case runs:
`${ROOT}` (the project root, harness.settings), `${FIXTURES}` (the built fixtures,
`scripts/build_fixtures.py`, or the `fixtures` setting), `${TOOLS}` (the npm servers,
`scripts/install_tools.sh`), `${BIN}` (the folder of this Python's console scripts),
`${WORKDIR}` (a fresh empty folder per run, for servers that keep state), and the project's own
places (`[tool.flowtape.places]`, relative to the root).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness._readers import ParseError, clip, load_yaml, read_text
from harness._schemacheck import schema_problem
from harness.cassettes import Normalizer, Rule
from runner import JSONInputError, read_workflow
from runner._hints import did_you_mean

if TYPE_CHECKING:
    from harness.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PLACES = ("ROOT", "FIXTURES", "TOOLS", "BIN", "WORKDIR")  # flowtape's own; a project may add more
RUNNABLE = ("ir", "code", "direct")  # the approaches `flowtape test` and `record` run
ARTEFACTS = {"ir": "workflow.json", "code": "baseline.py"}  # what a task folder (or an authored one) holds per approach
_SLUG = re.compile(r"[A-Za-z0-9._-]+")
_PLACE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class GoldenError(ValueError):
    """A task or case file is missing or invalid; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleSpec(_Strict):
    pattern: str
    replace: str


class NormalizeSpec(_Strict):
    """How recordings of this task are normalised before matching and saving."""

    timestamps: bool = False
    rules: list[RuleSpec] = Field(default_factory=list)


class PriceSpec(_Strict):
    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)


class LLMSpec(_Strict):
    """The model llm nodes use when they name none (recorded from the local SmolLM2 server by
    default; any litellm model works for re-recording), and prices (USD per million tokens)
    for models litellm's price map does not know, by the name the provider reports."""

    model: str = "openai/smollm2"
    prices: dict[str, PriceSpec] = Field(default_factory=lambda: {"smollm2": PriceSpec(input_per_mtok=0, output_per_mtok=0)})

    def price_map(self) -> dict[str, dict[str, float]]:
        return {name: p.model_dump() for name, p in self.prices.items()}


class CodeSpec(_Strict):
    """How the code approach's sandbox is budgeted for this task."""

    timeout: float = Field(60.0, gt=0, description="seconds of wall time for the script, its calls included")
    memory_mb: int = Field(512, ge=32, description="memory cap of the whole sandbox, in MiB")
    max_calls: int = Field(1000, ge=1, description="the most tool, model and discovery calls the script may make")


class DirectSpec(_Strict):
    """How the direct approach asks a model to do the task by calling the tools itself
    (`runner.agent`)."""

    prompt: str | None = Field(None, description="the user's request, a template over the case inputs: 'Convert ${time} from ${home} to ${away}' (required when approaches lists direct)")
    system: str | None = Field(None, description="the system message's opening; the protocol's instructions and the tool catalog follow it")
    max_turns: int = Field(8, ge=1, le=100, description="model turns before the run fails for want of a final answer")
    servers: list[str] | None = Field(None, description="the servers whose tools are offered (default: all the task's)")
    outputs: dict[str, dict[str, Any]] | None = Field(None, description=(
        "the final answer's fields, name -> JSON schema (default: the workflow's declared outputs, any value)"))
    protocol: Literal["json-schema", "native"] = Field("json-schema", description=(
        "json-schema: each turn is a grammar-constrained JSON reply, a tool call or the final answer; native: OpenAI tools/tool_calls"))
    temperature: float = Field(0.0, ge=0)
    timeout: float = Field(600.0, gt=0, description="seconds one model turn may take (a small local model on a busy CPU is slow)")
    max_tokens: int = Field(512, ge=1, description="completion limit per turn")
    max_result_chars: int | None = Field(4000, ge=1, description="a tool result's text is cut to this before the model reads it (the trace keeps it whole); null: never")
    max_context_chars: int | None = Field(16000, ge=1, description=(
        "the run stops (failed) before a turn whose conversation is longer than this, rather than overflow the model's context; null: no limit"))


class TaskSpec(_Strict):
    version: Literal[1] = 1
    description: str
    servers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    fixtures: list[str] = Field(default_factory=list)
    normalize: NormalizeSpec = Field(default_factory=NormalizeSpec)
    approaches: list[Literal["ir", "code", "direct"]] = Field(default_factory=lambda: ["ir"])
    llm: LLMSpec = Field(default_factory=LLMSpec)
    code: CodeSpec = Field(default_factory=CodeSpec)
    direct: DirectSpec = Field(default_factory=DirectSpec)
    evaluators: list[str] = Field(default_factory=list, description="your own evaluators, as 'package.module:Class'")


class CaseSpec(_Strict):
    version: Literal[1] = 1
    description: str = ""
    inputs: dict[str, Any] = Field(default_factory=dict)
    steps: dict[str, list[Any]] = Field(default_factory=dict)
    outputs: dict[str, list[Any]] = Field(default_factory=dict)
    code_steps: dict[str, list[Any]] = Field(default_factory=dict, description=(
        "evaluators for the code approach's calls, by pattern: 'time.convert_time' (every call of that tool), "
        "'call-2' (the second call), or a glob over step ids 'call-<n>:<server>.<tool>'"))


@dataclass(frozen=True)
class Case:
    """A case with its evaluators built (so a bad evaluator is a load error, not a run error)."""

    name: str
    path: Path
    spec: CaseSpec
    steps: dict[str, list[Any]] = field(default_factory=dict)
    outputs: dict[str, list[Any]] = field(default_factory=dict)
    code_steps: dict[str, list[Any]] = field(default_factory=dict)  # pattern -> evaluators (see CaseSpec)


@dataclass(frozen=True)
class Task:
    name: str
    folder: Path
    spec: TaskSpec
    cases: tuple[Case, ...]

    @property
    def workflow_path(self) -> Path:
        return ir_file(self.folder)

    @property
    def baseline_path(self) -> Path:
        return self.folder / "baseline.py"

    def artefact_path(self, approach: str) -> Path:
        """The workflow (`ir`) or script (`code`) an approach runs: the task's own, or for
        `ir@<model>` / `code@<model>` the one `flowtape author` saved under authored/<model>/."""
        base, _, model = approach.partition("@")
        folder = self.folder / "authored" / model if model else self.folder
        return ir_file(folder) if base == "ir" else folder / ARTEFACTS[base]

    @property
    def authored(self) -> tuple[str, ...]:
        """The authored variants on disk, `ir@<model>` / `code@<model>`, in name order."""
        found = []
        for folder in sorted((self.folder / "authored").glob("*/")):
            for base, name in ARTEFACTS.items():
                if (folder / name).is_file() and _SLUG.fullmatch(folder.name):
                    found.append(f"{base}@{folder.name}")
        return tuple(found)

    def uses_llm(self, approach: str = "ir") -> bool:
        """Whether a run under `approach` calls a model (then recording needs one): always under
        direct; under ir and code when the IR has llm nodes (an authored script: when it calls
        `llm(`)."""
        base = base_approach(approach)
        if base == "direct":
            return True
        if base == "code" and "@" in approach:
            try:
                return "llm(" in self.artefact_path(approach).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                return False
        path = self.artefact_path("ir" if base == "code" else approach)
        try:
            return calls_llm(read_workflow(path))
        except (OSError, ValueError, AttributeError, RecursionError):
            return False


def calls_llm(document: Any) -> bool:
    """Whether a workflow document has llm nodes (`Task.uses_llm` of the approach that runs it)."""
    nodes = document.get("nodes", []) if isinstance(document, dict) else []
    return isinstance(nodes, list) and any(isinstance(n, dict) and n.get("type") == "llm" for n in nodes)


def ir_file(folder: Path) -> Path:
    """A task's (or an authored folder's) workflow: `workflow.json`, or pflow's markdown
    `workflow.pflow.md` when there is no JSON one."""
    markdown = folder / "workflow.pflow.md"
    return markdown if not (folder / "workflow.json").exists() and markdown.exists() else folder / "workflow.json"


def base_approach(approach: str) -> str:
    """`ir` for `ir` and for an authored variant `ir@<model>`; likewise `code`."""
    return approach.partition("@")[0]


@dataclass(frozen=True)
class Places:
    """This machine's values for the `${...}` places."""

    fixtures: Path
    tools: Path
    bin: Path
    workdir: Path
    root: Path = field(default_factory=Path.cwd)
    own: dict[str, Path] = field(default_factory=dict)  # the project's places, [tool.flowtape.places]

    @classmethod
    def here(cls, workdir: Path, fixtures: Path | None = None, *, project: Path | None = None, settings: Settings | None = None) -> Places:
        """The places for a task of the project that `project` (a task folder; default: the
        current folder) is in, whose settings are `settings` when the caller has read them
        (`project_settings`). Fixtures: `fixtures`, else FLOWTAPE_FIXTURES, else the project's
        `fixtures` setting, else flowtape's own `.fixtures`.

        Raises:
            GoldenError: the project's settings are invalid (the message names the file and key).
        """
        if settings is None:
            settings = project_settings(project)
        return cls(
            fixtures=Path(fixtures or os.environ.get("FLOWTAPE_FIXTURES") or settings.fixtures or ROOT / ".fixtures").resolve(),
            tools=(ROOT / ".tools" / "node_modules").resolve(),
            bin=Path(sys.executable).parent,
            workdir=workdir.resolve(),
            root=settings.root,
            own={k: v for k, v in settings.places.items() if k != "ROOT"},
        )

    def as_dict(self) -> dict[str, str]:
        return {**{k: str(v) for k, v in self.own.items()}, "ROOT": str(self.root), "FIXTURES": str(self.fixtures),
                "TOOLS": str(self.tools), "BIN": str(self.bin), "WORKDIR": str(self.workdir)}

    def expand(self, value: Any) -> Any:
        """`value` with every known `${NAME}` replaced; an unknown one stays (a server's
        environment variable, read when it starts)."""
        values = self.as_dict()
        if isinstance(value, str):
            return _PLACE.sub(lambda m: values.get(m.group(1), m.group(0)), value)
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        return value

    def normalizer(self, spec: NormalizeSpec) -> Normalizer:
        """Fixture and work paths become placeholders in cassettes (BIN and TOOLS locate servers,
        which replay never starts, so they stay out of recordings)."""
        return Normalizer(
            placeholders={**{k: str(v) for k, v in self.own.items()}, "ROOT": str(self.root),
                          "FIXTURES": str(self.fixtures), "WORKDIR": str(self.workdir)},
            timestamps=spec.timestamps,
            rules=[Rule(r.pattern, r.replace) for r in spec.rules],
        )


def project_settings(project: Path | None = None) -> Settings:
    """The settings of the project `project` (a task folder; default: the current folder) is in.

    Raises:
        GoldenError: the project's settings are invalid (the message names the file and key).
    """
    from harness.settings import SettingsError, load_settings

    try:
        return load_settings(project)
    except SettingsError as err:
        raise GoldenError(str(err)) from None


def _read_yaml(path: Path, model: type[BaseModel]) -> Any:
    """Read strictly (see `harness._readers`: no aliases, duplicate keys or deep nesting) and
    validate; every problem is a GoldenError naming the file and the line or the key."""
    try:
        raw = load_yaml(read_text(path))
    except OSError as err:
        raise GoldenError(f"{path}: cannot read: {err.strerror or err}") from None
    except ParseError as err:
        raise GoldenError(f"{path}{err.where()}: {err}") from None
    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(clip(str(p), 80) for p in first["loc"]) or "(top level)"
        message = "unknown key" if first["type"] == "extra_forbidden" else clip(first["msg"])
        raise GoldenError(f"{path}: {key}: {message}") from None


def _check_servers(spec: TaskSpec, task_file: Path) -> None:
    """The servers are checked as a case run will read them, so a bad one is a load error
    (exit 2 before any case runs, in any worker count) rather than a crash in a worker."""
    from runner.live.mcp import MCPConfigError, parse_mcp_config

    def unset(value: Any) -> Any:  # `${VAR}` left after the places: the environment's, read when a case runs
        if isinstance(value, str):
            return value.replace("${", "$")
        if isinstance(value, dict):
            return {k: unset(v) for k, v in value.items()}
        return [unset(v) for v in value] if isinstance(value, list) else value

    from harness.envs import envs_root, server_specs

    places = Places.here(Path(tempfile.gettempdir()), project=task_file.parent)
    try:
        specs = server_specs(places.expand(spec.servers), envs_root(task_file.parent.parent.parent))
        parse_mcp_config({"mcpServers": unset(specs)}, source=str(task_file))
    except MCPConfigError as err:
        raise GoldenError(clip(str(err).replace(f"{task_file}: mcpServers.", f"{task_file}: servers.", 1), 400)) from None
    except ValueError as err:  # a malformed `python:` entry
        raise GoldenError(f"{task_file}: {err}") from None


def _registry(spec: TaskSpec, task_file: Path) -> dict[str, type]:
    from harness.evaluators import EvaluatorSpecError, load_custom, registry

    try:
        return registry(tuple(load_custom(path) for path in spec.evaluators))
    except EvaluatorSpecError as err:
        raise GoldenError(f"{task_file}: evaluators: {clip(str(err), 400)}") from None


def _build_case(path: Path, spec: CaseSpec, registry: dict[str, type]) -> Case:
    from harness.evaluators import EvaluatorSpecError, parse_evaluator

    built: dict[str, dict[str, list[Any]]] = {"steps": {}, "outputs": {}, "code_steps": {}}
    for section in ("steps", "outputs", "code_steps"):
        for target, entries in getattr(spec, section).items():
            built[section][target] = []
            for i, entry in enumerate(entries):
                try:
                    built[section][target].append(parse_evaluator(entry, registry))
                except EvaluatorSpecError as err:
                    raise GoldenError(f"{path}: {section}.{clip(target, 80)}[{i}]: {clip(str(err), 400)}") from None
    return Case(path.stem, path, spec, built["steps"], built["outputs"], built["code_steps"])


def _check_targets(workflow: Path, cases: tuple[Case, ...]) -> None:
    """Every step a case judges is a node of the workflow, every output a declared output."""
    try:
        document = read_workflow(workflow)  # the runner's strict readers: UTF-8, duplicate keys, depth; markdown by line
        nodes = [n["id"] for n in document.get("nodes", []) if isinstance(n, dict) and "id" in n]
        outputs = list(document.get("outputs", {}) or {})
    except JSONInputError as err:
        raise GoldenError(str(err)) from None
    except (OSError, ValueError, AttributeError, TypeError) as err:
        raise GoldenError(f"{workflow}: cannot read the workflow: {clip(str(err))}") from None
    for case in cases:
        for section, known in (("steps", nodes), ("outputs", outputs)):
            for target in getattr(case.spec, section):
                if target not in known:
                    what = "node" if section == "steps" else "declared output"
                    name = clip(target, 80)
                    raise GoldenError(f"{case.path}: {section}.{name}: the workflow has no {what} '{name}'{did_you_mean(target, known)}")


def direct_outputs(task: Task) -> dict[str, dict[str, Any]]:
    """The direct approach's declared outputs, name -> JSON schema: `direct.outputs`, else the
    workflow's declared outputs (any value, with their description)."""
    if task.spec.direct.outputs is not None:
        return dict(task.spec.direct.outputs)
    return _workflow_outputs(task.workflow_path)


def _workflow_outputs(workflow: Path) -> dict[str, dict[str, Any]]:
    try:
        declared = read_workflow(workflow).get("outputs", {}) or {}
    except (JSONInputError, OSError, AttributeError):
        return {}
    return {name: ({"description": o["description"]} if isinstance(o, dict) and isinstance(o.get("description"), str) else {})
            for name, o in declared.items()} if isinstance(declared, dict) else {}


def direct_prompt(task: Task, inputs: dict[str, Any]) -> str:
    """The direct approach's request: `direct.prompt` rendered over the case's inputs.

    Raises:
        GoldenError: the template does not parse, or names an input the case does not give.
    """
    from runner import templates

    template = task.spec.direct.prompt or ""
    try:
        value = templates.resolve(template, inputs)
    except templates.TemplateError as err:
        raise GoldenError(f"{task.folder / 'task.yaml'}: direct.prompt: {clip(str(err), 300)}") from None
    return value if isinstance(value, str) else templates.to_text(value)


def _check_direct(spec: TaskSpec, task_file: Path, cases: tuple[Case, ...]) -> None:
    """A task listing direct says what to ask (`direct.prompt`, rendering for every case), offers
    servers it has, and declares every output its cases judge."""
    direct = spec.direct
    if not direct.prompt:
        raise GoldenError(f"{task_file}: direct.prompt: required when approaches lists direct (the request, a template over the case inputs)")
    for name in direct.servers or []:
        if name not in spec.servers:
            raise GoldenError(f"{task_file}: direct.servers: no server '{clip(name, 80)}' in servers{did_you_mean(name, list(spec.servers))}")
    outputs = direct.outputs if direct.outputs is not None else _workflow_outputs(ir_file(task_file.parent))
    if not outputs:
        raise GoldenError(f"{task_file}: direct.outputs: required when the task has no workflow.json declaring outputs")
    for name, schema in (direct.outputs or {}).items():
        problem = schema_problem(schema)
        if problem is not None:
            raise GoldenError(f"{task_file}: direct.outputs.{clip(name, 80)}: not a JSON schema: {clip(problem, 300)}")
    from runner import templates

    for case in cases:
        try:
            templates.resolve(direct.prompt, case.spec.inputs)
        except templates.TemplateError as err:
            given = ", ".join(case.spec.inputs) or "none"
            raise GoldenError(f"{case.path}: inputs: direct.prompt of {task_file.name}: {clip(str(err), 300)} (the case's inputs: {clip(given, 200)})") from None
        for target in case.spec.outputs:
            if target not in outputs:
                name = clip(target, 80)
                raise GoldenError(f"{case.path}: outputs.{name}: the direct approach declares no output '{name}'{did_you_mean(target, list(outputs))}"
                                  f" (direct.outputs in {task_file.name})")


def load_task(folder: Path) -> Task:
    """One task folder, with its cases in name order."""
    task_file = folder / "task.yaml"
    if not task_file.exists():
        raise GoldenError(f"{task_file}: no such file (a task folder needs task.yaml)")
    spec = _read_yaml(task_file, TaskSpec)
    _check_servers(spec, task_file)
    if not ir_file(folder).exists() and "ir" in spec.approaches:
        raise GoldenError(f"{folder / 'workflow.json'}: no such file (task '{folder.name}' lists the ir approach)")
    registry = _registry(spec, task_file)
    if "code" in spec.approaches and not (folder / "baseline.py").exists():
        raise GoldenError(f"{folder / 'baseline.py'}: no such file (task '{folder.name}' lists the code approach)")
    cases = tuple(_build_case(p, _read_yaml(p, CaseSpec), registry) for p in sorted((folder / "cases").glob("*.yaml")))
    if not cases:
        raise GoldenError(f"{folder / 'cases'}: no cases (*.yaml)")
    if "ir" in spec.approaches:
        _check_targets(ir_file(folder), cases)
    if "direct" in spec.approaches:
        _check_direct(spec, task_file, cases)
    return Task(folder.name, folder, spec, cases)


def load_suite(suite: Path, *, task: str | Sequence[str] | None = None, case: str | Sequence[str] | None = None) -> list[Task]:
    """Every task under `suite` (folders holding task.yaml), filtered by task and case names
    (one name or several). A name that matches nothing is an error naming it, with a
    did-you-mean: a selection never quietly runs less than was asked for."""
    if not suite.is_dir():
        raise GoldenError(f"{suite}: no such suite folder")
    folders = sorted(p.parent for p in suite.glob("*/task.yaml"))
    tasks_wanted, cases_wanted = _names(task), _names(case)
    if tasks_wanted:
        known = [f.name for f in folders]
        for name in tasks_wanted:
            if name not in known:
                raise GoldenError(f"{suite}: no task '{name}'{did_you_mean(name, known)} (tasks: {', '.join(known) or 'none'})")
        folders = [f for f in folders if f.name in tasks_wanted]
    tasks = [load_task(f) for f in folders]
    if cases_wanted:
        known = sorted({c.name for t in tasks for c in t.cases})
        for name in cases_wanted:
            if name not in known:
                where = f" in task{'s' * (len(tasks_wanted) > 1)} {', '.join(repr(t) for t in tasks_wanted)}" if tasks_wanted else ""
                raise GoldenError(f"{suite}: no case '{name}'{where}{did_you_mean(name, known)} (cases: {', '.join(known) or 'none'})")
        tasks = [Task(t.name, t.folder, t.spec, tuple(c for c in t.cases if c.name in cases_wanted)) for t in tasks]
        tasks = [t for t in tasks if t.cases]
    return tasks


def select_units(tasks: Sequence[Task], approach: str | Sequence[str] | None = None) -> list[tuple[Task, Case, str]]:
    """The (task, case, approach) units that run: every approach a task lists and every authored
    variant it holds (`ir@<model>`, `code@<model>`), or those named. An approach that is not one
    of flowtape's, or one no selected task has, is an error naming it."""
    wanted = _names(approach)
    for name in wanted:
        base, at, model = name.partition("@")
        if base not in RUNNABLE or (at and (base not in ARTEFACTS or not _SLUG.fullmatch(model))):
            raise GoldenError(f"--approach {name!r}: not an approach{did_you_mean(name, RUNNABLE)} (approaches that run: "
                              f"{', '.join(RUNNABLE)}, and ir@<model> / code@<model> for what `flowtape author` saved)")
        if not any(name in (*t.spec.approaches, *t.authored) for t in tasks):
            if at:
                raise GoldenError(f"--approach {name}: no selected task has {base}@{model} "
                                  f"(no <task>/authored/{model}/{ARTEFACTS[base]}; `flowtape author --approach {base}` writes one)")
            raise GoldenError(f"--approach {name}: no selected task lists it (tasks: {', '.join(t.name for t in tasks) or 'none'})")
    return [(t, c, a) for t in tasks for a in (*(a for a in t.spec.approaches if a in RUNNABLE), *t.authored)
            if not wanted or a in wanted for c in t.cases]


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(dict.fromkeys(value))


def cassette_path(cassettes: Path, task: Task, case: Case | str, approach: str = "ir", model: str | None = None) -> Path:
    """`<cassettes>/<task>/<case>.<approach>.yaml` for the task's own model (task.yaml `llm.model`)
    and for a run that calls no model; `<cassettes>/<task>/models/<model>/<case>.<approach>.yaml`
    for the same case recorded with another model (`--model`)."""
    name = case if isinstance(case, str) else case.name
    if model and model != task.spec.llm.model and task.uses_llm(approach):
        return cassettes / task.name / "models" / model_slug(model) / f"{name}.{approach}.yaml"
    return cassettes / task.name / f"{name}.{approach}.yaml"


def model_slug(model: str) -> str:
    """A model name as a folder name: `openai/smollm2` -> `smollm2`, other characters as `-`."""
    name = model.split("/", 1)[1] if model.startswith("openai/") else model
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "model"


def golden_schema() -> dict[str, Any]:
    """JSON schema of a case file, with the evaluator entries spelled out."""
    from harness.evaluators import schema_entries

    schema = CaseSpec.model_json_schema()
    entries = {"type": "array", "items": schema_entries()}
    for section in ("steps", "outputs", "code_steps"):
        schema["properties"][section]["additionalProperties"] = entries
    schema["title"] = "flowtape golden case"
    return schema


def task_schema() -> dict[str, Any]:
    schema = TaskSpec.model_json_schema()
    schema["title"] = "flowtape task"
    return schema
