"""Run the gate: a run of the ledger, its baseline, the policy -> a verdict with its failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.gate._baseline import BaselineRef, baseline_schema_tokens, resolve_baseline, set_baseline
from harness.gate._figures import CaseKey, LedgerReader, RunFigures, latest_run, load_run
from harness.gate._policy import GateError, LoadedPolicy, Policy
from harness.gate._rules import Failure, evaluate
from harness.gate._schemas import ServerSchema, schema_tokens

__all__ = ["GateResult", "gate", "update_baseline"]


@dataclass(frozen=True)
class GateResult:
    """The verdict on `run`: passed when there are no failures (`exit_code` 0, else 1)."""

    run: RunFigures
    policy: LoadedPolicy
    failures: tuple[Failure, ...]
    notes: tuple[str, ...] = ()
    baseline: RunFigures | None = None
    baseline_ref: BaselineRef | None = None
    allowed: dict[CaseKey, list[str]] = field(default_factory=dict)
    schemas: dict[str, ServerSchema] | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def _open(ledger: Path) -> LedgerReader:
    if not ledger.is_file():
        raise GateError(f"{ledger}: no such ledger (flowtape test writes it)")
    return LedgerReader(ledger)


def _run_id(db: LedgerReader, run_id: str | None) -> str:
    found = run_id or latest_run(db)
    if found is None:
        raise GateError(f"{db.path}: no run with cases yet (run flowtape test first)")
    return found


def _cassettes(run: RunFigures, cassettes: Path | str | None) -> Path:
    return Path(cassettes if cassettes is not None else run.settings.get("cassettes") or "cassettes")


def _account(ledger: Path, run: RunFigures, cassettes: Path) -> RunFigures:
    """Fill the run's context rows as `flowtape compare` does (required_savings needs them)."""
    from harness.accounting import LedgerError
    from harness.compare import account_run
    from harness.goldens import GoldenError

    try:
        account_run(ledger, run.run_id, suite=run.suite or "goldens", cassettes=cassettes)
    except (FileNotFoundError, GoldenError, LedgerError, ValueError) as err:
        raise GateError(f"run {run.run_id} has no context figures and they could not be computed ({str(err).splitlines()[0]}); "
                        f"run flowtape compare --run {run.run_id} first") from None
    return load_run(ledger, run.run_id)


def gate(
    ledger: Path | str,
    policy: LoadedPolicy | Policy | None = None,
    *,
    run_id: str | None = None,
    baseline: str | None = None,
    cassettes: Path | str | None = None,
) -> GateResult:
    """Judge `run_id` (default: the ledger's latest run with cases) by `policy` against the
    baseline `baseline` names (see `resolve_baseline`; default: the recorded one, if any).

    Context figures (`required_savings`) are computed into the ledger, as `flowtape compare`
    does, when the run has none; schema tokens (`max_schema_tokens`) are read from the run's
    cassettes (`cassettes`, default: the folder the run replayed from).

    Raises:
        GateError: no ledger, no such run or baseline, cassettes or traces that cannot be read.
    """
    ledger = Path(ledger)
    loaded = policy if isinstance(policy, LoadedPolicy) else LoadedPolicy(policy or Policy())
    rules = loaded.policy
    with _open(ledger) as db:  # one connection for every read; closed before _account writes
        run = load_run(db, _run_id(db, run_id))
        ref = resolve_baseline(db, baseline, run.run_id)
        same = ref is not None and ref.ledger.resolve() == ledger.resolve()
        base = load_run(db if same else ref.ledger, ref.run_id) if ref else None
        base_schemas = baseline_schema_tokens(db if same else ref.ledger, ref.run_id) if ref else None
        if base is not None and base.models() == [""] and len(run.models()) == 1:
            base = base.as_model(run.models()[0])  # a baseline from before models were kept: it ran the one model there was
    if rules.required_savings and not run.context:
        run = _account(ledger, run, _cassettes(run, cassettes))
    schemas = None
    if rules.max_schema_tokens:
        schemas = schema_tokens(_cassettes(run, cassettes), run.cases, run.settings.get("tokenizer") or "o200k_base")
    verdicts = evaluate(rules, run, base, schemas, base_schemas)
    return GateResult(run, loaded, tuple(verdicts.failures), tuple(verdicts.notes), base, ref, verdicts.allowed, schemas)


def update_baseline(ledger: Path | str, run_id: str | None = None, *, cassettes: Path | str | None = None) -> str:
    """Record `run_id` (default: the latest run with cases) as the ledger's baseline, with the
    schema tokens of its cassettes when they can be read; returns the run id.

    Raises:
        GateError: no ledger or run, or the run did not complete.
    """
    ledger = Path(ledger)
    with _open(ledger) as db:
        run = load_run(db, _run_id(db, run_id))
    if run.status != "completed":
        raise GateError(f"run {run.run_id} is {run.status}; a baseline must be a completed run")
    try:
        found = schema_tokens(_cassettes(run, cassettes), run.cases, run.settings.get("tokenizer") or "o200k_base")
        snapshot: dict[str, int] | None = {server: s.tokens for server, s in found.items()}
    except GateError:
        snapshot = None  # no cassettes here: the baseline is kept without schema sizes
    set_baseline(ledger, run.run_id, run.git_commit, snapshot)
    return run.run_id
