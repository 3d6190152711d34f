"""`flowtape diff A B`: what changed between two runs of the ledger, or two versions of a workflow.

Runs are compared case by case (task, case, approach, model), the changes that matter first:
a verdict that flipped, then a case whose status changed, then outputs that changed, then the
largest token, cost and duration deltas. For each case: the steps that ran in one run and not
the other, each step whose output changed (the path into it and both values, strings from where
they part ways), each evaluator whose verdict flipped (with its reason now), and the deltas.
Figures come from the ledger, step outputs from the runs' stored traces.

Workflows (two JSON IR files) are compared by structure, node ids as keys, not line order:
nodes added, removed, retyped; params changed (path and both values); edges and the workflow's
inputs and outputs added, removed or changed.

    runs = diff_runs(Path("reports/ledger.duckdb"), "20261201T...", "20261202T...")
    print(render_runs(runs, "table"))
    print(render_workflows(diff_workflows(old_doc, new_doc, "a.json", "b.json"), "markdown"))
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.accounting import query
from harness.cassettes._describe import describe_change, pretty_path, short_json

__all__ = ["CaseDiff", "RunsDiff", "WorkflowDiff", "case_lines", "diff_runs", "diff_workflows", "render_runs", "render_workflows", "resolve_run"]

Key = tuple[str, str, str, str]  # task, case, approach, model
MAX_PATHS = 8  # changed paths shown per step output or node


class DiffError(ValueError):
    """A run or file to compare cannot be found or read; the message says which and why."""


@dataclass
class CaseDiff:
    task: str
    case: str
    approach: str
    model: str
    status: tuple[str | None, str | None]  # (A, B): the verdict (a run that passed with a failing check failed); None: not in that run
    only_in_a: list[str] = field(default_factory=list)  # steps
    only_in_b: list[str] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (step id, what changed)
    flipped: list[tuple[str, str, bool | None, bool | None, str]] = field(default_factory=list)  # target, evaluator, A, B, reason in B
    tokens: tuple[int, int] = (0, 0)
    cost_usd: tuple[float | None, float | None] = (0.0, 0.0)
    duration_ms: tuple[float, float] = (0.0, 0.0)
    show_model: bool = False  # the runs hold several models

    @property
    def label(self) -> str:
        return f"{self.task}/{self.case} [{self.approach}{' · ' + self.model if self.show_model and self.model else ''}]"

    @property
    def changed(self) -> bool:
        return bool(self.status[0] != self.status[1] or self.only_in_a or self.only_in_b or self.outputs or self.flipped
                    or self.tokens[0] != self.tokens[1] or self.cost_usd[0] != self.cost_usd[1])

    def order(self) -> tuple[Any, ...]:
        """Largest first: a check that now fails, a status change, changed outputs, then |Δ tokens|, then by name."""
        broke = sum(1 for f in self.flipped if f[2] and not f[3])
        # (durations are left out of the order: they vary run to run, and would shuffle equal cases)
        return (-broke, -(self.status[0] != self.status[1]), -len(self.flipped), -len(self.outputs) - len(self.only_in_a) - len(self.only_in_b),
                -abs(self.tokens[1] - self.tokens[0]), self.label)


@dataclass
class RunsDiff:
    ledger: str
    a: str
    b: str
    cases: list[CaseDiff]
    same: int  # cases in both runs with nothing changed (deltas in duration alone do not count)

    def to_dict(self) -> dict[str, Any]:
        return {"ledger": self.ledger, "a": self.a, "b": self.b, "unchanged": self.same,
                "cases": [{**asdict(c), "label": c.label} for c in self.cases]}


def resolve_run(ledger: Path, ref: str) -> str:
    """A run id of `ledger` from `ref`: a run id, `latest`, `previous` (the one before the latest),
    `baseline` (the gate's recorded baseline) or `git:<commit>` (the latest run at that commit).

    Raises:
        DiffError: `ref` names no run of the ledger.
    """
    from harness.gate import GateError
    from harness.gate._baseline import _by_git, recorded_baseline

    try:
        if ref in ("latest", "previous"):
            rows = query(ledger, """SELECT r.run_id FROM runs r WHERE EXISTS (SELECT 1 FROM cases c WHERE c.run_id = r.run_id)
                                    ORDER BY r.started_at DESC, r.run_id DESC LIMIT 2""")[1]
            wanted = 0 if ref == "latest" else 1
            if len(rows) <= wanted:
                raise DiffError(f"{ledger}: no {ref} run (it has {len(rows)} run(s) with cases)")
            return str(rows[wanted][0])
        if ref == "baseline":
            found = recorded_baseline(ledger)
            if found is None:
                raise DiffError(f"{ledger}: no baseline recorded (flowtape gate --update-baseline records one)")
            return found
        if ref.startswith("git:"):
            return _by_git(ledger, ref.removeprefix("git:"), "").run_id
        if query(ledger, "SELECT 1 FROM runs WHERE run_id = ?", [ref])[1]:
            return ref
    except GateError as err:
        raise DiffError(str(err).replace("--baseline ", "")) from None
    except FileNotFoundError:
        raise DiffError(f"{ledger}: no such ledger (flowtape test writes it)") from None
    latest = [r[0] for r in query(ledger, "SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 3")[1]]
    raise DiffError(f"{ref}: not a run of {ledger} (latest: {', '.join(latest) or 'none'}; or latest, previous, baseline, git:<commit>)")


def _run_figures(ledger: Path, run_id: str) -> dict[Key, dict[str, Any]]:
    key = """task, "case", approach, coalesce(model, '')"""
    cases: dict[Key, dict[str, Any]] = {}
    for *k, status, trace_path, duration in query(ledger, f"SELECT {key}, status, trace_path, duration_ms FROM cases WHERE run_id = ?", [run_id])[1]:
        cases[tuple(k)] = {"status": status, "trace": trace_path, "duration": float(duration or 0.0), "steps": [], "tokens": 0, "cost": 0.0,
                           "checks": {}}  # type: ignore[index]
    for *k, step_id in query(ledger, f"SELECT {key}, step_id FROM steps WHERE run_id = ? ORDER BY seq", [run_id])[1]:
        if tuple(k) in cases:
            cases[tuple(k)]["steps"].append(step_id)  # type: ignore[index]
    for *k, tokens, cost in query(ledger, f"""SELECT {key}, sum(coalesce(prompt_tokens, 0) + coalesce(completion_tokens, 0)),
                                                     CASE WHEN count(cost_usd) = count(*) THEN sum(cost_usd) END
                                              FROM llm_calls WHERE run_id = ? GROUP BY ALL""", [run_id])[1]:
        if tuple(k) in cases:
            cases[tuple(k)].update(tokens=int(tokens), cost=cost)  # type: ignore[index]
    for *k, tokens in query(ledger, f"SELECT {key}, sum(coalesce(result_tokens, 0)) FROM tool_calls WHERE run_id = ? GROUP BY ALL", [run_id])[1]:
        if tuple(k) in cases:
            cases[tuple(k)]["tokens"] += int(tokens)  # type: ignore[index]
    for *k, target, evaluator, passed, reason in query(
            ledger, f"SELECT {key}, target, evaluator, coalesce(passed, false), reason FROM evaluations WHERE run_id = ? ORDER BY ALL", [run_id])[1]:
        if tuple(k) in cases:
            cases[tuple(k)]["checks"][(target, evaluator)] = (bool(passed), reason or "")  # type: ignore[index]
    for figures in cases.values():
        if figures["status"] == "passed" and any(not passed for passed, _ in figures["checks"].values()):
            figures["status"] = "failed"
    return cases


def _outputs(trace_path: str | None) -> dict[str, Any] | None:
    """Each step's output of a stored trace (the last record of a step that ran twice); None when
    the trace is gone."""
    if not trace_path or not Path(trace_path).is_file():
        return None
    try:
        data = json.loads(Path(trace_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    out = {s.get("step_id"): s.get("output") for s in data.get("steps", []) if isinstance(s, dict)}
    out.update({f"outputs.{k}": v for k, v in (data.get("outputs") or {}).items()})
    return out


def _changes(old: Any, new: Any) -> list[str]:
    """The paths where `new` differs from `old`, each with both values (DeepDiff)."""
    from deepdiff import DeepDiff

    if old == new:
        return []
    if not isinstance(old, (dict, list)) or not isinstance(new, (dict, list)):
        return [describe_change(old, new, "A", "B")]
    diff = DeepDiff(old, new, verbose_level=2)
    lines = []
    for kind, group in diff.items():
        items = group.items() if isinstance(group, dict) else ((p, None) for p in group)
        for path, change in items:
            where = pretty_path(path)
            if kind in ("values_changed", "type_changes") and isinstance(change, dict):
                lines.append(f"{where}: {describe_change(change.get('old_value'), change.get('new_value'), 'A', 'B')}")
            elif "added" in kind:
                lines.append(f"{where}: only in B" + (f" ({short_json(change, 200)})" if change is not None else ""))
            elif "removed" in kind:
                lines.append(f"{where}: only in A" + (f" ({short_json(change, 200)})" if change is not None else ""))
            else:
                lines.append(f"{where}: {kind.replace('_', ' ')}")
    return sorted(lines)[:MAX_PATHS] + ([f"... and {len(lines) - MAX_PATHS} more"] if len(lines) > MAX_PATHS else [])


def diff_runs(ledger: Path, a: str, b: str) -> RunsDiff:
    """Compare run `b` with run `a` of `ledger` (refs as `resolve_run` takes them).

    Raises:
        DiffError: a ref names no run, or the ledger cannot be read.
    """
    from harness.accounting import LedgerError

    try:
        run_a, run_b = resolve_run(ledger, a), resolve_run(ledger, b)
        fig_a, fig_b = _run_figures(ledger, run_a), _run_figures(ledger, run_b)
    except LedgerError as err:
        raise DiffError(str(err)) from None
    out, same = [], 0
    several = len({k[3] for k in fig_a.keys() | fig_b.keys()}) > 1
    for key in sorted(fig_a.keys() | fig_b.keys()):
        x, y = fig_a.get(key), fig_b.get(key)
        d = CaseDiff(*key, status=(x["status"] if x else None, y["status"] if y else None), show_model=several)
        if x and y:
            d.only_in_a = [s for s in dict.fromkeys(x["steps"]) if s not in y["steps"]]
            d.only_in_b = [s for s in dict.fromkeys(y["steps"]) if s not in x["steps"]]
            d.tokens, d.cost_usd, d.duration_ms = (x["tokens"], y["tokens"]), (x["cost"], y["cost"]), (x["duration"], y["duration"])
            outs_a, outs_b = _outputs(x["trace"]), _outputs(y["trace"])
            if outs_a is not None and outs_b is not None:
                for step in dict.fromkeys([*outs_a, *outs_b]):
                    if step in outs_a and step in outs_b:
                        d.outputs += [(step, change) for change in _changes(outs_a[step], outs_b[step])]
            for check in dict.fromkeys([*x["checks"], *y["checks"]]):
                was, now = x["checks"].get(check), y["checks"].get(check)
                if (was and was[0]) != (now and now[0]):
                    d.flipped.append((check[0], check[1], was[0] if was else None, now[0] if now else None, (now or was or (False, ""))[1]))
            if not d.changed:
                same += 1
                continue
        out.append(d)
    return RunsDiff(str(ledger), run_a, run_b, sorted(out, key=CaseDiff.order), same)


def _verdict(value: bool | None) -> str:
    return "—" if value is None else ("passed" if value else "failed")


def _delta(a: float | None, b: float | None, unit: str = "") -> str:
    if a is None or b is None:
        return f"{'?' if a is None else f'{a:,.6g}'} → {'?' if b is None else f'{b:,.6g}'}{unit}"
    change = f" ({(b - a) / a:+.1%})" if a else ""
    return f"{a:,.6g} → {b:,.6g}{unit}{change}"


def case_lines(c: CaseDiff) -> list[str]:
    """What changed in one case, a line each, as `flowtape diff` prints them (the HTML report's
    "changed since baseline" view shows the same lines)."""
    lines = []
    if c.status[0] is None or c.status[1] is None:
        return [f"only in {'B' if c.status[0] is None else 'A'} ({c.status[1] or c.status[0]})"]
    for step in c.only_in_a:
        lines.append(f"step {step}: ran in A, not in B")
    for step in c.only_in_b:
        lines.append(f"step {step}: ran in B, not in A")
    for target, evaluator, was, now, reason in c.flipped:
        lines.append(f"{target} {evaluator}: {_verdict(was)} → {_verdict(now)}" + (f" ({reason})" if reason and not now else ""))
    for step, change in c.outputs:
        lines.append(f"{'output' if step.startswith('outputs.') else 'step'} {step.removeprefix('outputs.')}: {change}")
    if c.tokens[0] != c.tokens[1] or c.cost_usd[0] != c.cost_usd[1]:
        lines.append(f"tokens {_delta(*c.tokens)} · cost {_delta(*c.cost_usd, ' USD')} · duration {_delta(*c.duration_ms, ' ms')}")
    return lines


def render_runs(diff: RunsDiff, format: str = "table") -> str:
    """`table` (terminal), `markdown` or `json`."""
    if format == "json":
        return json.dumps(diff.to_dict(), indent=2, default=str) + "\n"
    flipped = sum(1 for c in diff.cases if c.flipped or c.status[0] != c.status[1])
    head = (f"A: run {diff.a} · B: run {diff.b} · ledger {diff.ledger}\n"
            f"{len(diff.cases)} case(s) changed ({flipped} with a verdict or status change), {diff.same} unchanged")
    if format == "markdown":
        out = ["## flowtape diff", "", head.replace("\n", "  \n"), ""]
        for c in diff.cases:
            out += [f"### {c.label}: {c.status[0] or '—'} → {c.status[1] or '—'}", ""] + [f"- {line}" for line in case_lines(c)] + [""]
        return "\n".join(out) + "\n"
    out = [head]
    for c in diff.cases:
        out += ["", f"{c.label}: {c.status[0] or '—'} → {c.status[1] or '—'}"] + [f"  {line}" for line in case_lines(c)]
    return "\n".join(out) + "\n"


# -- workflows -----------------------------------------------------------------------------------


@dataclass
class WorkflowDiff:
    a: str
    b: str
    nodes_added: list[str] = field(default_factory=list)
    nodes_removed: list[str] = field(default_factory=list)
    nodes_changed: dict[str, list[str]] = field(default_factory=dict)  # node id -> what changed
    edges_added: list[str] = field(default_factory=list)
    edges_removed: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any((self.nodes_added, self.nodes_removed, self.nodes_changed, self.edges_added, self.edges_removed, self.inputs, self.outputs))


def _edge(edge: Any) -> str:
    if not isinstance(edge, dict):
        return json.dumps(edge)
    action = edge.get("action")
    return f"{edge.get('from')} -> {edge.get('to')}" + (f" (on {action})" if action not in (None, "default") else "")


def _keyed(section: Any) -> dict[str, Any]:
    return section if isinstance(section, dict) else {}


def diff_workflows(old: dict[str, Any], new: dict[str, Any], a: str = "A", b: str = "B") -> WorkflowDiff:
    """The structural difference of two JSON IR documents, node ids as keys."""
    out = WorkflowDiff(a, b)
    nodes_a = {n.get("id"): n for n in old.get("nodes", []) if isinstance(n, dict)}
    nodes_b = {n.get("id"): n for n in new.get("nodes", []) if isinstance(n, dict)}
    out.nodes_added = [str(n) for n in nodes_b if n not in nodes_a]
    out.nodes_removed = [str(n) for n in nodes_a if n not in nodes_b]
    for node_id in [n for n in nodes_a if n in nodes_b]:
        x, y = nodes_a[node_id], nodes_b[node_id]
        changes = []
        if x.get("type") != y.get("type"):
            changes.append(f"type {x.get('type')} → {y.get('type')}")
        rest = [k for k in dict.fromkeys([*x, *y]) if k not in ("id", "type")]
        for k in rest:
            changes += [f"{k}: {c}" if k not in x or k not in y or isinstance(x[k], (dict, list)) else f"{k} {c}"
                        for c in _changes(x.get(k), y.get(k))]
        if changes:
            out.nodes_changed[str(node_id)] = changes
    edges_a = [_edge(e) for e in old.get("edges", [])]
    edges_b = [_edge(e) for e in new.get("edges", [])]
    out.edges_added = [e for e in edges_b if e not in edges_a]
    out.edges_removed = [e for e in edges_a if e not in edges_b]
    for section, target in (("inputs", out.inputs), ("outputs", out.outputs)):
        x, y = _keyed(old.get(section)), _keyed(new.get(section))
        target += [f"{name}: only in B" for name in y if name not in x] + [f"{name}: only in A" for name in x if name not in y]
        target += [f"{name}: {c}" for name in x if name in y for c in _changes(x[name], y[name])]
    return out


def render_workflows(diff: WorkflowDiff, format: str = "table") -> str:
    if format == "json":
        return json.dumps(asdict(diff), indent=2) + "\n"
    lines: list[str] = []
    lines += [f"node {n}: only in B" for n in diff.nodes_added] + [f"node {n}: only in A" for n in diff.nodes_removed]
    for node, changes in diff.nodes_changed.items():
        lines += [f"node {node}: {c}" for c in changes]
    lines += [f"edge {e}: only in B" for e in diff.edges_added] + [f"edge {e}: only in A" for e in diff.edges_removed]
    lines += [f"input {c}" for c in diff.inputs] + [f"output {c}" for c in diff.outputs]
    head = f"A: {diff.a} · B: {diff.b}: " + (f"{len(lines)} change(s)" if lines else "no structural change")
    if format == "markdown":
        return "\n".join(["## flowtape diff", "", head, ""] + [f"- {line}" for line in lines]) + "\n"
    return "\n".join([head] + [f"  {line}" for line in lines]) + "\n"
