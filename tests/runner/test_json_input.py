"""Reading JSON someone handed us (`runner._json`): duplicate keys, depth, encoding, syntax,
each a one-line error naming the source and the place."""

import pytest

from runner._json import MAX_DEPTH, JSONInputError, JSONSyntaxError, depth_exceeds, loads, read


def nested(depth):
    return "[" * depth + "]" * depth


def test_a_repeated_key_is_an_error_naming_the_key_and_the_object():
    with pytest.raises(JSONInputError, match=r"^wf.json: \$.nodes\[1\].params: duplicate key 'command'$"):
        loads('{"nodes": [{"id": "a"}, {"params": {"command": "x", "command": "y"}}]}', "wf.json")
    with pytest.raises(JSONInputError, match=r"^wf.json: \$: duplicate key 'a'$"):
        loads('{"a": 1, "b": 2, "a": 3}', "wf.json")


def test_nesting_is_limited_with_the_line_and_column_of_the_first_bracket_too_deep():
    assert loads(nested(MAX_DEPTH), "f") is not None
    with pytest.raises(JSONInputError, match=rf"^f:2:{MAX_DEPTH + 1}: JSON nested deeper than {MAX_DEPTH} levels$"):
        loads("{}\n" + "[" + nested(MAX_DEPTH), "f")
    with pytest.raises(JSONInputError, match="nested deeper"):
        loads(nested(100_000), "f")


def test_brackets_inside_strings_do_not_count():
    assert loads('["' + "[" * 500 + '\\"' + '"]', "f") == ["[" * 500 + '"']


def test_invalid_utf8_and_invalid_json_name_the_place():
    with pytest.raises(JSONInputError, match=r"^f:2:8: not UTF-8 text \(byte 0xff\)$"):
        loads(b'{\n "a": "\xff"}', "f")
    with pytest.raises(JSONSyntaxError, match=r"^f:1:7: invalid JSON: Expecting value$"):
        loads('{"a": }', "f")
    with pytest.raises(JSONSyntaxError, match=r"^at 1:1: invalid JSON"):
        loads("nope", "")


def test_read_names_missing_files_and_directories(tmp_path):
    with pytest.raises(JSONInputError, match="no such workflow file"):
        read(tmp_path / "absent.json")
    with pytest.raises(JSONInputError, match="is a directory"):
        read(tmp_path)


def test_depth_exceeds_walks_without_recursion():
    deep = []
    for _ in range(50_000):
        deep = [deep]
    assert depth_exceeds(deep) and not depth_exceeds([[1]], limit=2) and depth_exceeds([[[1]]], limit=2)
