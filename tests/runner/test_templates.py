"""Templates: `${name.path}`, JSON-in-string paths, `??` defaults, `$${}` escapes, types."""

import pytest

from runner import templates
from runner.templates import Ref, TemplateSyntaxError, UnresolvedError, find_refs, resolve, resolve_value

SCOPE = {
    "name": "Ada",
    "n": 3,
    "flag": False,
    "nothing": None,
    "f": 3.0,
    "fetch-issues": {"result": {"items": [{"title": "a"}, {"title": "b"}]}, "count": 2},
    "raw": {"stdout": '{"data": {"users": [{"login": "ada"}]}}'},
    "evil": {"stdout": "${name} and $${name}"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${name}", "Ada"),
        ("hello ${name}!", "hello Ada!"),
        ("${n}", 3),
        ("n=${n}", "n=3"),
        ("${flag}", False),
        ("flag=${flag}", "flag=False"),
        ("none=${nothing}.", "none=."),
        ("f=${f}", "f=3.0"),
        ("${name}\n", "Ada"),
        ("${fetch-issues.result.items[1].title}", "b"),
        ("${fetch-issues.result.items[-1].title}", "b"),
        ("${fetch-issues.result.items}", [{"title": "a"}, {"title": "b"}]),
        ("items=${fetch-issues.result.items}", 'items=[{"title": "a"}, {"title": "b"}]'),
        ("${raw.stdout.data.users[0].login}", "ada"),
        ("${missing ?? \"fallback\"}", "fallback"),
        ("${missing ?? name}", "Ada"),
        ("${nothing ?? 7}", None),
        ("${missing ?? []}", []),
        ("${fetch-issues.nope ?? fetch-issues.count}", 2),
        ("${missing ?? 'single'}", "single"),
        ("$${name}", "${name}"),
        ("cost: $${price} for ${name}", "cost: ${price} for Ada"),
        ("no templates $ here {}", "no templates $ here {}"),
        ("${ name }", "Ada"),
    ],
)
def test_resolve(text, expected):
    assert resolve(text, SCOPE) == expected


def test_a_value_from_a_node_is_data_and_never_expanded_again():
    assert resolve("${evil.stdout}", SCOPE) == "${name} and $${name}"
    assert resolve("out: ${evil.stdout}", SCOPE) == "out: ${name} and $${name}"


def test_resolve_value_walks_structures_and_keeps_keys():
    value = {"a": ["${n}", {"${name}": "x ${name}"}], "b": 1}
    assert resolve_value(value, SCOPE) == {"a": [3, {"${name}": "x Ada"}], "b": 1}


@pytest.mark.parametrize("text", ["${missing}", "${missing ?? other}", "x ${fetch-issues.result.items[5].title}", "${name.sub}", "${raw.stdout.data.nope}"])
def test_unresolved_reference_is_an_error_naming_it(text):
    with pytest.raises(UnresolvedError, match="does not resolve"):
        resolve(text, SCOPE)


@pytest.mark.parametrize("text", ["${", "abc ${name", "${}", "${1abc}", "${a..b}", "${a[x]}", "${a ?? }", "${a ?? \"unterminated}", "${a b}"])
def test_syntax_errors_are_template_syntax_errors(text):
    with pytest.raises(TemplateSyntaxError):
        templates.parse(text)


def test_find_refs_lists_every_alternative_in_order():
    refs = find_refs({"p": "${a.b[0]} ${c ?? d.e}", "q": ["${f}"], "r": 3, "s": "$${g}"})
    assert [str(r) for r in refs] == ["a.b[0]", "c", "d.e", "f"]
    assert refs[0] == Ref("a", ("b", 0))


def test_a_default_list_or_object_is_a_new_value_each_time():
    """A text is parsed once and its parse shared; a literal it holds is never shared."""
    first = resolve("${missing ?? []}", {})
    first.append("changed")
    assert resolve("${missing ?? []}", {}) == [] and resolve("${missing ?? {}}", {}) == {}
