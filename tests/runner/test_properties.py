"""Property tests: generated IR documents and template strings never make the parser, the
validator or the template engine raise anything but the project's own diagnostics."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import check, templates
from runner.templates import TemplateError

names = st.sampled_from(["a", "b", "log", "fetch-issues", "x_1", "repo", "zz"])
template_text = st.lists(
    st.one_of(
        st.text(alphabet=string.printable, max_size=8),
        st.builds(lambda n, p: "${" + n + p + "}", names, st.sampled_from(["", ".stdout", ".result[0].x", "[1]", " ?? \"d\"", " ?? b.c", "..", "[", " ?? "])),
        st.just("$${a}"),
        st.sampled_from(["${", "}", "$", "{", "??", "\"", "'"]),
    ),
    max_size=6,
).map("".join)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=16), template_text)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["command", "stdin", "prompt", "x", "file_path"]), inner, max_size=3)), max_leaves=8)

node = st.fixed_dictionaries(
    {"id": st.one_of(names, st.integers(), st.just("")), "type": st.sampled_from(["shell", "llm", "read-file", "mcp-time-now", "workflow", "nope", 3])},
    optional={"params": st.one_of(st.dictionaries(st.sampled_from(["command", "stdin", "prompt", "bogus", "file_path"]), json_values, max_size=3), json_values), "retry": st.one_of(st.just({"max": 2}), json_values), "purpose": json_values},
)
edge = st.fixed_dictionaries({"from": names, "to": names}, optional={"action": st.sampled_from(["default", "error", "x", 1])})
document = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "ir_version": st.sampled_from(["0.1.0", "1", 1, None]),
            "nodes": st.one_of(st.lists(node, max_size=4), json_values),
            "edges": st.one_of(st.lists(edge, max_size=4), json_values),
            "inputs": st.one_of(st.dictionaries(names, st.one_of(st.just({"type": "string"}), st.just({"type": "integer", "required": False, "default": 1}), json_values), max_size=2), json_values),
            "outputs": st.one_of(st.dictionaries(names, st.one_of(template_text, st.fixed_dictionaries({"source": template_text})), max_size=2), json_values),
            "start_node": st.one_of(names, json_values),
            "extra": json_values,
        },
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document, st.one_of(st.none(), st.dictionaries(names, json_values, max_size=2)))
def test_validator_only_returns_diagnostics(doc, inputs):
    diagnostics = check(doc, inputs=inputs)
    assert all(d.path.startswith("$") and d.message for d in diagnostics)


@settings(max_examples=500, deadline=None)
@given(template_text, st.dictionaries(names, json_values, max_size=4))
def test_template_engine_only_raises_template_errors(text, scope):
    try:
        value = templates.resolve(text, scope)
    except TemplateError:
        return
    if "${" not in text:
        assert value == text.replace("$${", "${") or "$${" in text


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(names, st.text(alphabet="${}?.ab \"", max_size=12), min_size=1, max_size=3))
def test_values_are_never_expanded_twice(scope):
    # Whatever a node produced, inserting it is verbatim: no ${...} inside it is looked up.
    for name, value in scope.items():
        assert templates.resolve("${" + name + "}", scope) == value
        assert templates.resolve("<${" + name + "}>", scope) == f"<{value}>"
