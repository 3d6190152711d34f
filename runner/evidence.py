"""Evidence: values a model claims, looked up by code in what the step was given.

An llm node's `evidence` param names fields of its (contract-checked) reply whose values must be
found in the step's inputs. Each field's spec says where to look and how:

    "evidence": {
      "invoice_number": {"in": "${document}"},                         # normalised substring
      "total":          {"in": "${document}", "match": "exact"},       # exact substring
      "customer_id":    {"in": "${record}", "path": "$.customer.id"}   # equal to the value there
    }

- the field is a path into the reply (`totals.amount`, `lines[0].sku`); a list value needs every
  element found;
- `in` is the text or JSON value to search (default: the node's `prompt`); a string holding a
  JSON document is read as JSON when `path` is given;
- `match`: `normalized` (the default: Unicode NFKC, case folded, runs of whitespace made one
  space, on both sides; `where` then counts in the normalised input) or `exact` (a plain
  substring);
- `path`: a JSON path (`$.a.b[0]`) into `in`; the claim must then equal the value found there
  (compared as normalised text, numbers as numbers).

A field the reply does not have, or leaves null or empty, is a claim without evidence too. The
result, one entry per field (`value`, `found`, `match`, and `where` it was found or `why` not), is
the node's `evidence` output; any field not found makes the node's action `missing_evidence`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

__all__ = ["check_evidence", "evidence_problems", "normalize"]

MATCHES = ("normalized", "exact")
_KEYS = {"in", "match", "path"}
_PATH_PART = re.compile(r"\.?([A-Za-z0-9_-]+)|\[(\d+)\]")


def evidence_problems(spec: dict[str, Any]) -> list[str]:
    """What is wrong with an `evidence` param before anything runs (one message per problem)."""
    problems = []
    for field, rule in spec.items():
        if _split(field) is None:
            problems.append(f"'{field}' is not a field path (like totals.amount or lines[0].sku)")
        if not isinstance(rule, dict):
            problems.append(f"'{field}': each field takes an object ({{\"in\": ..., \"match\": ..., \"path\": ...}}), not {type(rule).__name__}")
            continue
        for key in sorted(set(rule) - _KEYS):
            problems.append(f"'{field}': unknown key '{key}' (keys: in, match, path)")
        if "match" in rule and rule["match"] not in MATCHES:
            problems.append(f"'{field}': match is normalized or exact, not {rule['match']!r}")
        if "path" in rule and (not isinstance(rule["path"], str) or _split(_bare(rule["path"])) is None):
            problems.append(f"'{field}': path is a JSON path like $.customer.id, not {rule['path']!r}")
    return problems


def normalize(text: str) -> str:
    """Text as `normalized` compares it: NFKC, case folded, whitespace runs made one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def check_evidence(spec: dict[str, Any], reply: Any, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each field of `spec` looked up in its source (`params` are the node's resolved params,
    whose `prompt` is the default source)."""
    results: dict[str, dict[str, Any]] = {}
    for field, rule in spec.items():
        rule = rule if isinstance(rule, dict) else {}
        mode = rule.get("match", "normalized")
        source = rule.get("in", params.get("prompt"))
        claimed, present = _at(reply, _split(field) or [])
        entry: dict[str, Any] = {"value": claimed, "found": False, "match": "path" if "path" in rule else mode}
        values = claimed if isinstance(claimed, list) else [claimed]
        if not present or claimed is None or any(v is None or (isinstance(v, str) and not v.strip()) for v in values) or values == []:
            entry["why"] = "the reply makes no claim here" if not present else "the claim is empty"
        elif "path" in rule:
            target, ok = _at(_as_json(source), _split(_bare(rule["path"])) or [])
            if not ok:
                entry["why"] = f"{rule['path']} is not in the input"
            elif all(_same(v, target) for v in values):
                entry["found"], entry["where"] = True, rule["path"]
            else:
                entry["why"] = f"the input has {json.dumps(target, ensure_ascii=False)[:80]} at {rule['path']}"
        else:
            text = source if isinstance(source, str) else json.dumps(source, ensure_ascii=False)
            hay = normalize(text) if mode == "normalized" else text
            missing = []
            where = []
            for v in values:
                needle = _text(v)
                needle = normalize(needle) if mode == "normalized" else needle
                at = hay.find(needle)
                (missing.append(needle) if at < 0 else where.append(f"char {at}" + (" of the normalized input" if mode == "normalized" else "")))
            if missing:
                entry["why"] = f"not in the input ({mode}): " + ", ".join(json.dumps(m, ensure_ascii=False)[:60] for m in missing)
            else:
                entry["found"], entry["where"] = True, ", ".join(where)
        results[field] = entry
    return results


def _bare(path: str) -> str:
    return path[1:].lstrip(".") if path.startswith("$") else path


def _split(path: str) -> list[str | int] | None:
    """`a.b[0]` -> ['a', 'b', 0]; None when it is not such a path."""
    parts: list[str | int] = []
    pos = 0
    while pos < len(path):
        found = _PATH_PART.match(path, pos)
        if not found or (pos == 0 and path.startswith(".")):
            return None
        parts.append(found.group(1) if found.group(1) is not None else int(found.group(2)))
        pos = found.end()
    return parts if parts else ([] if path == "" else None)


def _at(value: Any, parts: list[str | int]) -> tuple[Any, bool]:
    for part in parts:
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            value = value[part]
        elif isinstance(part, str) and isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return None, False
    return value, True


def _as_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _same(claimed: Any, actual: Any) -> bool:
    numbers = [v for v in (claimed, actual) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == 1:
        other = actual if numbers[0] is claimed else claimed
        try:
            return float(str(other).replace(",", "")) == float(numbers[0])
        except ValueError:
            return False
    return normalize(_text(claimed)) == normalize(_text(actual))
