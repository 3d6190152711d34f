"""`flowtape schema golden|task`: JSON schemas of the golden files, for editors."""

from __future__ import annotations

import json
from enum import Enum
from typing import Annotated

import typer


class Kind(str, Enum):
    golden = "golden"
    task = "task"


def schema(kind: Annotated[Kind, typer.Argument(help="golden: a case file (cases/*.yaml); task: task.yaml.")] = Kind.golden) -> None:
    """Print the JSON schema of a golden case file or a task file. Point your editor's YAML
    support at it (e.g. a `# yaml-language-server: $schema=...` line) to validate as you type."""
    from harness.goldens import golden_schema, task_schema

    typer.echo(json.dumps(golden_schema() if kind is Kind.golden else task_schema(), indent=2))
