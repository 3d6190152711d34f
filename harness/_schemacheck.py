"""Whether a JSON schema is valid, remembered across processes.

Checking a schema against its draft's metaschema walks the whole metaschema (~8-12 ms for a
schema of a few properties, and importing jsonschema ~0.08 s where nothing else needs it). The
schemas a suite holds (`direct.outputs`, `JsonSchema` evaluators) are the same run after run, so a
schema found valid is kept in the per-user cache (`harness._cache`), keyed by its canonical JSON and
by which jsonschema judged it (its module file's path, size and modification time). An invalid
schema is never kept: it is checked, and reported, every time.

    schema_problem({"type": "strung"})   # "'strung' is not valid under any of the given schemas"
    checked(schema) or check(schema)     # check() raises jsonschema.SchemaError, as check_schema does
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "checked", "schema_problem"]


def schema_problem(schema: Any) -> str | None:
    """Why `schema` is not a valid JSON schema (against its draft's metaschema, 2020-12 unless it
    names another), or None."""
    if checked(schema):
        return None
    import jsonschema

    try:
        check(schema)
    except jsonschema.SchemaError as err:
        return err.message
    return None


def checked(schema: Any) -> bool:
    """Whether `schema` was found valid before (by this jsonschema)."""
    key = _key(schema)
    return key is not None and _cache().get(key) is True


def check(schema: Any) -> None:
    """`check_schema` by the schema's own draft's validator (2020-12 by default), remembering a
    schema that passes. Raises jsonschema.SchemaError."""
    import jsonschema

    jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator).check_schema(schema)
    key = _key(schema)
    if key is not None:
        cache = _cache()
        cache.put(key, True)
        cache.save()


def _key(schema: Any) -> str | None:
    """The schema's canonical JSON and which jsonschema judges it, hashed; None when either is
    unknown (a value JSON cannot say, jsonschema not found)."""
    import importlib.util
    import json
    import os

    from harness._cache import digest

    try:
        text = json.dumps(schema, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        spec = importlib.util.find_spec("jsonschema")
        origin = spec.origin if spec is not None else None
        stat = os.stat(origin) if origin else None
    except (TypeError, ValueError, OSError, ImportError):
        return None
    if stat is None:
        return None
    return digest(f"{origin}\0{stat.st_size}\0{stat.st_mtime_ns}\0{text}".encode())


def _cache() -> Any:
    from harness._cache import shared

    return shared("schema-checks")
