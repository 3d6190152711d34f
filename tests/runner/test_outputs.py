"""`runner.outputs.printed`: outputs as `flowtape run --format json` prints them, as pflow's CLI
does (JSON-looking strings as their values, unless an output is declared a string)."""

from runner.ir import OutputSpec
from runner.outputs import printed


def test_json_text_is_printed_as_its_value_unless_declared_a_string():
    outputs = {"n": "24", "obj": '{"k": [1, 2]}', "flag": "true", "word": "hello", "kept": "7", "neg": "-3.5", "bad": "{not json", "num": 5}
    assert printed(outputs, {"kept": OutputSpec(source="${x}", type="string")}) == {
        "n": 24, "obj": {"k": [1, 2]}, "flag": True, "word": "hello", "kept": "7", "neg": -3.5, "bad": "{not json", "num": 5}
