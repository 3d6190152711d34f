"""A JSON schema found valid is remembered in the per-user cache (by its JSON and the installed
jsonschema), so later runs skip the metaschema walk; an invalid one is checked, and reported,
every time."""

from __future__ import annotations

import importlib.util

import jsonschema
import pytest

from harness import _cache, _schemacheck
from harness.evaluators._schemas import JsonSchema, _validators
from tests.harness.evaluators._factories import value_ctx

SCHEMA = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}, "required": ["n"]}


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWTAPE_CACHE_DIR", str(tmp_path / "cache"))
    _cache._shared.clear()
    _validators.clear()
    yield
    _cache._shared.clear()
    _validators.clear()


def test_a_valid_schema_is_checked_once_then_remembered(monkeypatch):
    assert not _schemacheck.checked(SCHEMA)
    assert _schemacheck.schema_problem(SCHEMA) is None
    _cache._shared.clear()  # as a later process would: read from the file
    assert _schemacheck.checked(SCHEMA)
    walked = []
    monkeypatch.setattr(jsonschema.Draft202012Validator, "check_schema", classmethod(lambda cls, s: walked.append(s)))
    assert _schemacheck.schema_problem(SCHEMA) is None and walked == []


def test_an_invalid_schema_is_never_remembered():
    bad = {"type": "strung"}
    for _ in range(2):
        assert "is not valid under any of the given schemas" in _schemacheck.schema_problem(bad)
        assert not _schemacheck.checked(bad)
        with pytest.raises(jsonschema.SchemaError):
            _schemacheck.check(bad)


def test_another_jsonschema_checks_again(monkeypatch, tmp_path):
    _schemacheck.check(SCHEMA)
    assert _schemacheck.checked(SCHEMA)
    elsewhere = tmp_path / "other-jsonschema" / "__init__.py"
    elsewhere.parent.mkdir()
    elsewhere.write_text("")
    found = importlib.util.find_spec

    def find_spec(name, *args):
        spec = found(name, *args)
        if name == "jsonschema":
            spec = importlib.util.spec_from_file_location("jsonschema", elsewhere)
        return spec

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert not _schemacheck.checked(SCHEMA)


def test_the_evaluator_skips_the_metaschema_for_a_schema_checked_before_and_still_refuses_a_bad_one(tmp_path, monkeypatch):
    ctx = value_ctx({"n": 3}, base_dir=tmp_path)
    assert JsonSchema(schema=SCHEMA).evaluate(ctx).passed
    _validators.clear()
    monkeypatch.setattr(_schemacheck, "check", lambda schema: pytest.fail("the metaschema walked again"))
    assert JsonSchema(schema=SCHEMA).evaluate(ctx).passed
    monkeypatch.undo()
    with pytest.raises(jsonschema.SchemaError):
        JsonSchema(schema={"type": "strung"}).evaluate(ctx)
