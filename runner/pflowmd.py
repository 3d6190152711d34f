"""pflow's markdown workflow format (`.pflow.md`), read into the JSON IR the runner runs.

pflow 0.16 saves and runs workflows as markdown that reads like a runbook:

    # Count                          <- title; the prose under it describes the workflow
    ## Inputs
    ### start                        <- one input; its prose is the description
    - type: integer                  <- `- key: value` bullets are its fields
    ## Steps
    ### count                        <- one node, id `count`; steps run top to bottom
    Add one.                         <- prose: the node's `purpose`
    - type: shell                    <- `type`, `batch`, `loop`, `retry`... on the node,
    - on-error: recover                 `next` / `on-error` as edges, any other key a param
    ```shell command                 <- a fenced block is a param: the tag's last word names
    echo $((${start} + 1))              it (`command`), a `yaml` block is parsed as YAML
    ```
    ## Outputs
    ### total
    - source: ${count.stdout}

This reader was written from pflow's guide (`pflow guide core`, `batch`, `loop`, `branching`)
and from what pflow 0.16 did with workflows written to probe it; none of pflow's code is here
(it is FSL-licensed). The IR it builds is the one pflow's own parser builds, annotations
included: `_source_line` on each node and output (flowtape also marks each input),
`_source_lines` for a param written as a code block, `_routes_to_end` for `- next: end`.
`tests/runner/pflow_compat/*.pflow_ir.json` hold what pflow built for the same files.

    document = read(Path("count.pflow.md"))      # file references read in, ready to run
    document = parse(text, "count.pflow.md")     # the IR as written

A problem is a `MarkdownError` (a `JSONInputError`, so every reader of workflow files reports it
the same way) whose message is one line, `file:line: what is wrong`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner._json import JSONInputError, depth_exceeds, MAX_DEPTH
from runner._json import read as _read_json

__all__ = ["MarkdownError", "is_markdown", "line_of", "parse", "read", "read_workflow", "resolve_files", "without_annotations"]

SUFFIX = ".pflow.md"
NODE_FIELDS = ("type", "batch", "loop", "retry", "cache", "prompt_cache", "prewarm", "approval")  # on the node; the rest are params
ROUTING = ("next", "on-error")
# Params whose value may name a file to read in instead (pflow: "any code block parameter"),
# and those of them whose file is YAML rather than text.
FILE_PARAMS = ("command", "code", "prompt", "source", "stdin", "headers", "output_schema")
YAML_FILE_PARAMS = ("headers", "output_schema", "batch")
FILE_SUFFIXES = (".md", ".txt", ".py", ".sh", ".yaml", ".yml", ".json")
_STEP_ID = re.compile(r"^[a-z][a-z0-9_-]*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*(.*?)\s*$")
_ITEM = re.compile(r"^-(?:\s+|$)(.*)$")
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:(?:\s+(.*))?$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?$")
_NULLS = ("", "~", "null", "Null", "NULL")
_TRUE = ("true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON")
_FALSE = ("false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF")
# A code node's literal routing, `next: str = "target"` or `next = 'target'`, read to draw its edges.
_CODE_NEXT = re.compile(r"^\s*next\s*(?::\s*str\s*)?=\s*(['\"])([^'\"\n]+)\1\s*(?:#.*)?$", re.M)


class MarkdownError(JSONInputError):
    """A `.pflow.md` file that cannot be read as a workflow; the message is `file:line: problem`."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source, self.line, self.problem = source, line, message
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")


def is_markdown(path: Path | str) -> bool:
    """A workflow file in pflow's markdown format: `*.pflow.md` (any `*.md`)."""
    return str(path).lower().endswith(".md")


def read_workflow(path: Path, what: str = "workflow") -> Any:
    """A workflow file as the JSON IR: `.pflow.md` through this reader (file references read in),
    anything else through the strict JSON reader. Raises `JSONInputError` (one line)."""
    return read(path, what) if is_markdown(path) else _read_json(path, what)


def read(path: Path, what: str = "workflow") -> dict[str, Any]:
    """Read, parse and resolve a `.pflow.md` file. Raises `MarkdownError`."""
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MarkdownError(source, None, f"no such {what} file") from None
    except IsADirectoryError:
        raise MarkdownError(source, None, f"is a directory, expected a {what} file") from None
    except OSError as err:
        raise MarkdownError(source, None, f"cannot read: {err.strerror or err}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MarkdownError(source, data.count(b"\n", 0, err.start) + 1, "not UTF-8 text") from None
    return resolve_files(parse(text, source), path.resolve().parent, source)


def without_annotations(value: Any) -> Any:
    """The IR without its `_`-prefixed annotations (`_source_line`...): what the workflow is,
    not where it was written."""
    if isinstance(value, dict):
        return {k: without_annotations(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("_"))}
    if isinstance(value, list):
        return [without_annotations(v) for v in value]
    return value


# -- the document's structure -----------------------------------------------------------------


@dataclass
class _Block:
    tag: str
    text: str
    line: int  # the fence's line

    @property
    def first(self) -> int:
        return self.line + 1


@dataclass
class _Item:
    key: str
    lines: list[str]
    line: int


@dataclass
class _Entity:
    section: str
    name: str
    line: int
    prose: list[str] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)


@dataclass
class _Document:
    sections: dict[str, int] = field(default_factory=dict)
    entities: list[_Entity] = field(default_factory=list)


def _fail(source: str, line: int | None, message: str) -> MarkdownError:
    return MarkdownError(source, line, message)


def _split(text: str, source: str) -> _Document:
    """Headings, prose, bullets and fenced blocks, each with the line it starts on."""
    lines = text.lstrip("\ufeff").split("\n")
    doc = _Document()
    i = 0
    if lines and lines[0].strip() == "---":  # front matter: pflow's saved-workflow metadata, not the IR
        close = next((k for k in range(1, len(lines)) if lines[k].strip() == "---"), None)
        if close is None:
            raise _fail(source, 1, "front matter opened with '---' is never closed")
        i = close + 1
    section: str | None = None
    entity: _Entity | None = None
    item: _Item | None = None
    pending_blank: list[str] = []
    while i < len(lines):
        raw = lines[i].rstrip("\r")
        number = i + 1
        fence = _FENCE.match(raw)
        if fence:
            marker, tag = fence.group(1), fence.group(2)
            body: list[str] = []
            i += 1
            closed = False
            while i < len(lines):
                inner = lines[i].rstrip("\r")
                end = _FENCE.match(inner)
                if end and end.group(1)[0] == marker[0] and len(end.group(1)) >= len(marker) and not end.group(2):
                    closed = True
                    break
                body.append(inner)
                i += 1
            if not closed:
                raise _fail(source, number, f"code block opened with {marker} is never closed")
            i += 1
            item, pending_blank = None, []
            if entity is not None:
                entity.blocks.append(_Block(tag, "\n".join(body), number))
            elif section == "cache":
                doc.entities.append(_Entity("cache", "", number, blocks=[_Block(tag, "\n".join(body), number)]))
            continue
        heading = _HEADING.match(raw)
        if heading and len(heading.group(1)) <= 3:
            item, pending_blank = None, []
            level, name = len(heading.group(1)), heading.group(2)
            if level == 1:  # the title: its prose describes the workflow (pflow's `pflow list`), not the IR
                entity = None
            elif level == 2:
                section = name.strip().lower()
                if section in doc.sections and section in ("inputs", "steps", "outputs", "cache"):
                    raise _fail(source, number, f"second '## {name}' section (the first is at line {doc.sections[section]})")
                doc.sections.setdefault(section, number)
                entity = None
                if section == "cache":
                    entity = _Entity("cache", "", number)
                    doc.entities.append(entity)
            elif section in ("inputs", "steps", "outputs"):
                entity = _Entity(section, name.strip(), number)
                doc.entities.append(entity)
            else:
                entity = None  # a `###` under a section pflow does not read: documentation
            i += 1
            continue
        if entity is None:  # the title's description, or a section pflow does not read
            i += 1
            continue
        if item is not None and (raw[:1] in (" ", "\t") or not raw.strip()):
            if raw.strip():
                item.lines.extend(pending_blank)
                pending_blank = []
                item.lines.append(raw)
            else:
                pending_blank.append("")
            i += 1
            continue
        item, pending_blank = None, []
        bullet = _ITEM.match(raw)
        if bullet:
            key = _KEY.match(bullet.group(1))
            if not key:
                raise _fail(source, number, f"'{raw.strip()}' is not a '- key: value' field (write documentation bullets with '*')")
            item = _Item(key.group(1), [raw], number)
            entity.items.append(item)
        elif raw.strip():
            entity.prose.append(raw.strip())
        i += 1
    return doc


# -- values -----------------------------------------------------------------------------------


def _yaml_loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        """YAML with dates left as text (pflow keeps `2026-01-01` a string)."""

    Loader.yaml_implicit_resolvers = {k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
                                      for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    return Loader


_LOADER: type | None = None


def _yaml(text: str) -> Any:
    """YAML text parsed; raises `ValueError` naming the line (1-based, within `text`) at fault."""
    import yaml

    global _LOADER
    if _LOADER is None:
        _LOADER = _yaml_loader()
    try:
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise _YAMLProblem(problem, (mark.line + 1) if mark is not None else None) from None


class _YAMLProblem(ValueError):
    def __init__(self, problem: str, line: int | None) -> None:
        self.problem, self.line = problem, line
        super().__init__(problem)


def _scalar(text: str) -> Any:
    """A one-line `- key: value`: quoted and bracketed values are YAML; a bare value is null,
    a boolean or a decimal number when it reads as one, else the text exactly as written (so
    `echo a: b # c` stays a command, as pflow keeps it)."""
    value = text.strip()
    if value in _NULLS:
        return None
    if value[0] in "\"'[{":
        return _yaml(value)
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    if _INT.match(value):
        return int(value)
    if _FLOAT.match(value):
        return float(value)
    return value


def _item_value(item: _Item, source: str) -> Any:
    first = _ITEM.match(item.lines[0])
    rest = _KEY.match(first.group(1)).group(2) if first else None  # type: ignore[union-attr]
    try:
        if len(item.lines) == 1:
            return _scalar(rest or "")
        value = _yaml(f"{item.key}:{(' ' + rest) if rest else ''}\n" + "\n".join(item.lines[1:]))[item.key]
    except _YAMLProblem as err:
        line = item.line + (err.line - 1 if err.line else 0) if len(item.lines) > 1 else item.line
        raise _fail(source, min(line, item.line + len(item.lines) - 1), f"'{item.key}': not valid YAML: {err.problem}") from None
    if isinstance(value, str) and (rest or "").strip()[:1] in ("|", ">"):
        value = value[:-1] if value.endswith("\n") else value  # a block scalar, as pflow keeps it: no final newline
    return value


def _fields(entity: _Entity, source: str) -> tuple[dict[str, Any], dict[str, int]]:
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for item in entity.items:
        if item.key in values:
            raise _fail(source, item.line, f"'{item.key}' is given twice in '{entity.name}' (first at line {lines[item.key]})")
        values[item.key], lines[item.key] = _item_value(item, source), item.line
    return values, lines


def _prose(lines: list[str]) -> str:
    return "\n".join(lines)


# -- the IR -----------------------------------------------------------------------------------


def parse(text: str, source: str = "workflow.pflow.md") -> dict[str, Any]:
    """The JSON IR of a `.pflow.md` text, file references left as written. Raises `MarkdownError`."""
    doc = _split(text, source)
    if "steps" not in doc.sections:
        raise _fail(source, None, "no '## Steps' section: a workflow needs at least one step")
    ir: dict[str, Any] = {}
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    nodes: list[dict[str, Any]] = []
    routes: list[tuple[dict[str, Any], dict[str, Any], dict[str, int]]] = []
    seen: dict[str, int] = {}
    for entity in doc.entities:
        if entity.section == "cache":
            ir["cache"] = _cache(entity, source, ir.get("cache"))
            continue
        what = {"inputs": "input", "outputs": "output", "steps": "step"}[entity.section]
        if entity.section == "steps":
            if not _STEP_ID.match(entity.name):
                raise _fail(source, entity.line, f"step id '{entity.name}': ids start with a lowercase letter and hold only lowercase letters, digits, '-' and '_'")
            if entity.name == "end":
                raise _fail(source, entity.line, "'end' is reserved (`- next: end` ends the flow): it cannot name a step")
            if entity.name in seen:
                raise _fail(source, entity.line, f"step '{entity.name}' is defined twice (first at line {seen[entity.name]})")
            seen[entity.name] = entity.line
        elif not _NAME.match(entity.name):
            raise _fail(source, entity.line, f"{what} name '{entity.name}' must be letters, digits, '-' and '_'")
        if not entity.prose:
            raise _fail(source, entity.line, f"{what} '{entity.name}' has no description: write a line of prose under its heading (pflow requires one)")
        values, lines = _fields(entity, source)
        if entity.section == "steps":
            node, routing = _node(entity, values, lines, source)
            nodes.append(node)
            routes.append((node, routing, lines))
        else:
            target = inputs if entity.section == "inputs" else outputs
            if entity.name in target:
                raise _fail(source, entity.line, f"{what} '{entity.name}' is declared twice")
            for block in entity.blocks:
                raise _fail(source, block.line, f"a code block under {what} '{entity.name}': {what}s take '- key: value' fields only")
            # an output's line is its `- source:` (as pflow marks it); an input's, its heading
            line = lines.get("source", entity.line) if entity.section == "outputs" else entity.line
            target[entity.name] = {"description": _prose(entity.prose), **values, "_source_line": line}
    if not nodes:
        raise _fail(source, doc.sections["steps"], "'## Steps' has no step: add a '### step-id' with its '- type:'")
    if inputs:
        ir["inputs"] = inputs
    ir["nodes"] = nodes
    ir["edges"] = _edges(routes, source)
    if outputs:
        ir["outputs"] = outputs
    if depth_exceeds(ir):
        raise _fail(source, None, f"values nest deeper than {MAX_DEPTH} levels")
    return ir


def _node(entity: _Entity, values: dict[str, Any], lines: dict[str, int], source: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if "type" not in values:
        raise _fail(source, entity.line, f"step '{entity.name}' has no '- type:' (shell, llm, code, http, mcp-<server>-<tool>, workflow...)")
    node: dict[str, Any] = {"id": entity.name}
    params: dict[str, Any] = {}
    routing: dict[str, Any] = {}
    for key, value in values.items():
        if key in ROUTING:
            routing[key] = value
        elif key in NODE_FIELDS:
            node[key] = value
        else:
            params[key] = value
    node["purpose"] = _prose(entity.prose)
    fences: dict[str, int] = {}
    text_lines: dict[str, int] = {}
    for block in entity.blocks:
        words = block.tag.split()
        if not words:
            raise _fail(source, block.line, f"a code block in step '{entity.name}' has no tag: write '```shell command', '```python code', "
                                            "'```prompt', '```yaml batch'... (a block that holds ``` needs a longer fence)")
        name, is_yaml = words[-1], words[0] == "yaml" and len(words) > 1
        if name in lines:
            raise _fail(source, block.line, f"'{name}' is given both as '- {name}:' (line {lines[name]}) and as a code block")
        if name in fences:
            raise _fail(source, block.line, f"a second '{name}' code block in step '{entity.name}' (the first is at line {fences[name]})")
        if name in ROUTING or (name in NODE_FIELDS and name != "batch"):
            raise _fail(source, block.line, f"'{name}' cannot be a code block; write '- {name}: ...'")
        fences[name] = block.line
        value: Any = block.text
        if is_yaml:
            try:
                value = _yaml(block.text)
            except _YAMLProblem as err:
                raise _fail(source, block.first + (err.line - 1 if err.line else 0), f"'{name}' block: not valid YAML: {err.problem}") from None
        else:
            text_lines[name] = block.first
        if name == "batch":
            node["batch"] = value
        else:
            params[name] = value
    if text_lines:
        node["_source_lines"] = text_lines
    if routing.get("next") == "end":
        node["_routes_to_end"] = True
    if params:
        node["params"] = params
    node["_source_line"] = entity.line
    return node, routing


def _targets(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [t.strip() for t in str(value or "").split(",") if t.strip()]


def _edges(routes: list[tuple[dict[str, Any], dict[str, Any], dict[str, int]]], source: str) -> list[dict[str, Any]]:
    """Steps run in document order; `- next:` replaces a step's successor (`end`: none),
    `- on-error:` adds its `error` edge, and a code step's `next` routing (literal in its code,
    or listed in `- next: a, b`) adds an edge per target, taken by that action."""
    ids = [node["id"] for node, _, _ in routes]
    known = set(ids)
    edges: list[dict[str, Any]] = []
    branch_targets: dict[str, list[str]] = {}  # step -> the steps that branch to it (not "next in order")
    implicit: dict[str, str] = {}  # a step's successor when it names none
    explicit_next: set[str] = set()
    for k, (node, routing, lines) in enumerate(routes):
        nid = node["id"]
        after = ids[k + 1] if k + 1 < len(ids) else None
        actions: list[str] = []
        if node.get("type") == "code":
            code = node.get("params", {}).get("code")
            actions = [m.group(2) for m in _CODE_NEXT.finditer(code)] if isinstance(code, str) else []
        listed = _targets(routing["next"]) if "next" in routing else None
        where = lines.get("next", node["_source_line"])
        if listed is not None:
            explicit_next.add(nid)
            for target in listed:
                if target != "end" and target not in known:
                    raise _fail(source, where, f"step '{nid}': '- next: {target}' names no step{_hint(target, ids)}")
            if node.get("type") == "code" and len(listed) > 1:
                actions += listed
                listed = None  # a code step's possible targets; its default successor stays the next step
            elif len(listed) > 1:
                raise _fail(source, where, f"step '{nid}': only a code step can list several '- next:' targets")
        for target in dict.fromkeys(actions):
            if target == "end":
                node["_routes_to_end"] = True
                continue
            if target not in known:
                raise _fail(source, lines.get("next", node["_source_line"]), f"step '{nid}': its code routes to '{target}', which names no step{_hint(target, ids)}")
            edges.append({"from": nid, "to": target, "action": target})
            branch_targets.setdefault(target, []).append(nid)
        if listed:
            if listed[0] != "end":
                edges.append({"from": nid, "to": listed[0], "action": "default"})
        elif after is not None:
            # a code step that lists its targets names its default too (as pflow writes it)
            edges.append({"from": nid, "to": after, "action": "default"} if nid in explicit_next else {"from": nid, "to": after})
            implicit[nid] = after
        if "on-error" in routing:
            target = str(routing["on-error"]).strip()
            if target not in known:
                raise _fail(source, lines["on-error"], f"step '{nid}': '- on-error: {target}' names no step{_hint(target, ids)}")
            edges.append({"from": nid, "to": target, "action": "error"})
            branch_targets.setdefault(target, []).append(nid)
    line_of_step = {node["id"]: node["_source_line"] for node, _, _ in routes}
    for target, routers in branch_targets.items():
        if target not in explicit_next:
            raise _fail(source, line_of_step[target], f"step '{target}' is reached from '{routers[0]}' by a branch, so it must say where to go after it: "
                                                      "add '- next: end' or '- next: <step>' (otherwise it falls through to the next step)")
    for nid, after in implicit.items():
        if after in branch_targets and nid not in branch_targets[after]:
            raise _fail(source, line_of_step[nid], f"step '{nid}' falls through into '{after}', a branch of '{branch_targets[after][0]}': "
                                                   f"add '- next: <step>' or '- next: end' to '{nid}'")
    return edges


def _hint(name: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, names, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _cache(entity: _Entity, source: str, existing: Any) -> dict[str, Any]:
    """`## Cache`: provider prompt-cache chunks. flowtape reads them and does not act on them."""
    cache = existing if isinstance(existing, dict) else {"_source_line": entity.line}
    if entity.items:
        values, _ = _fields(entity, source)
        cache.update(values)
    for block in entity.blocks:
        if block.tag.split()[:1] != ["cache"]:
            raise _fail(source, block.line, "a code block in '## Cache' must be tagged 'cache'")
        cache.setdefault("text", []).append(block.text)
    return cache


# -- file references --------------------------------------------------------------------------


def _is_file_ref(value: Any) -> bool:
    """A param value that names a file rather than holding text: one word with no template or
    URL, starting `./`, `../`, `/` or `~/`, or a relative path with a known suffix
    (`prompts/review.md`)."""
    if not isinstance(value, str) or not value or any(c.isspace() for c in value) or "${" in value or "://" in value:
        return False
    if value.startswith(("./", "../", "~/")):
        return True
    return "/" in value and value.lower().endswith(FILE_SUFFIXES)


def resolve_files(document: dict[str, Any], base_dir: Path, source: str = "workflow") -> dict[str, Any]:
    """Read in the file a param names (`- prompt: ./prompts/review.md`), relative to the
    workflow file, as pflow does before it validates: text as written, YAML parsed for
    `headers`, `output_schema` and a `batch` given as a file. `_source_files` on the node
    records which file each came from. Raises `MarkdownError`."""
    for node in document.get("nodes", []):
        if not isinstance(node, dict):
            continue
        params = node.get("params") if isinstance(node.get("params"), dict) else {}
        found: dict[str, str] = {}
        for key in FILE_PARAMS:
            if _is_file_ref(params.get(key)):
                found[key] = params[key]
                params[key] = _read_ref(node, key, params[key], base_dir, source)
        if _is_file_ref(node.get("batch")):
            found["batch"] = node["batch"]
            node["batch"] = _read_ref(node, "batch", node["batch"], base_dir, source)
        if found:
            node["_source_files"] = found
    return document


def _read_ref(node: dict[str, Any], key: str, ref: str, base_dir: Path, source: str) -> Any:
    line = (node.get("_source_lines") or {}).get(key) or node.get("_source_line")
    path = (base_dir / ref).expanduser() if not ref.startswith("~") else Path(ref).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(source, line, f"step '{node.get('id')}': '{key}' names the file {ref}, which does not exist ({path})") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(source, line, f"step '{node.get('id')}': cannot read {ref} for '{key}': {getattr(err, 'strerror', None) or err}") from None
    if key not in YAML_FILE_PARAMS:
        return text
    try:
        return _yaml(text)
    except _YAMLProblem as err:
        raise _fail(source, line, f"step '{node.get('id')}': {ref} ('{key}') is not valid YAML: line {err.line}: {err.problem}") from None


# -- diagnostics ------------------------------------------------------------------------------

_PATH = re.compile(r"^\$\.(nodes|edges)\[(\d+)\](?:\.(params)\.([^.\[]+)|\.([^.\[]+))?|^\$\.(inputs|outputs)\.([^.\[]+)")


def line_of(document: Any, path: str, node: str | None = None) -> int | None:
    """The markdown line a diagnostic's JSON path points at, from the document's `_source_line`
    annotations: a param written as a code block at its first line, anything else in a step at
    the step's heading, an input or output at its heading. None when the document has none."""
    if not isinstance(document, dict):
        return None
    m = _PATH.match(path)
    nodes = document.get("nodes") if isinstance(document.get("nodes"), list) else []
    if m and m.group(1) == "nodes":
        index = int(m.group(2))
        item = nodes[index] if index < len(nodes) and isinstance(nodes[index], dict) else None
        if item is not None:
            lines = item.get("_source_lines") if isinstance(item.get("_source_lines"), dict) else {}
            param = m.group(4)
            if param and isinstance(lines.get(param), int):
                return lines[param]
            if isinstance(item.get("_source_line"), int):
                return item["_source_line"]
    if m and m.group(6):
        group = document.get(m.group(6))
        spec = group.get(m.group(7)) if isinstance(group, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("_source_line"), int):
            return spec["_source_line"]
    if node is not None:
        for item in nodes:
            if isinstance(item, dict) and item.get("id") == node and isinstance(item.get("_source_line"), int):
                return item["_source_line"]
    return None
