"""`read-file` / `write-file`."""

from runner import execute


def run(tmp_path, nodes, outputs=None):
    edges = [{"from": a["id"], "to": b["id"]} for a, b in zip(nodes, nodes[1:])]
    d = {"ir_version": "0.1.0", "nodes": nodes, "edges": edges, "outputs": outputs or {}}
    return execute(d, base_dir=tmp_path)


def test_write_then_read_round_trip_relative_to_workflow(tmp_path):
    trace = run(
        tmp_path,
        [
            {"id": "w", "type": "write-file", "params": {"file_path": "out/notes.txt", "content": "héllo\n"}},
            {"id": "r", "type": "read-file", "params": {"file_path": "${w.file_path}"}},
        ],
        {"text": "${r.content}", "written": "${w.written}"},
    )
    assert trace.outputs == {"text": "héllo\n", "written": f"Successfully wrote to '{tmp_path / 'out' / 'notes.txt'}'"}
    assert (tmp_path / "out" / "notes.txt").read_text() == "héllo\n"
    assert trace.step("w").output["bytes_written"] == 7


def test_structured_content_is_written_as_json_and_append_appends(tmp_path):
    (tmp_path / "log.txt").write_text("a\n")
    run(tmp_path, [
        {"id": "j", "type": "write-file", "params": {"file_path": "data.json", "content": {"k": [1, 2]}}},
        {"id": "e", "type": "write-file", "params": {"file_path": "e.json", "content": ["é"]}},
        {"id": "ap", "type": "write-file", "params": {"file_path": "log.txt", "content": "b\n", "append": True}},
    ], {"appended": "${ap.written}"})
    # pflow writes structured content as JSON with ASCII escapes.
    assert (tmp_path / "data.json").read_text() == '{"k": [1, 2]}'
    assert (tmp_path / "e.json").read_text() == '["\\u00e9"]'
    assert (tmp_path / "log.txt").read_text() == "a\nb\n"


def test_reading_a_missing_file_fails_the_node_with_the_path(tmp_path):
    trace = run(tmp_path, [{"id": "r", "type": "read-file", "params": {"file_path": "absent.txt"}}])
    assert trace.status.value == "failed"
    assert trace.step("r").error == f"cannot read {tmp_path / 'absent.txt'}: No such file or directory"


def test_copy_move_delete_take_paths_relative_to_the_workflow_and_delete_only_on_a_true_boolean(tmp_path, monkeypatch):
    monkeypatch.chdir("/")  # not the process's working directory: the workflow's folder
    (tmp_path / "a.txt").write_text("hi")
    trace = run(tmp_path, [
        {"id": "c", "type": "copy-file", "params": {"source_path": "a.txt", "dest_path": "deep/er/b.txt"}},
        {"id": "m", "type": "move-file", "params": {"source_path": "deep/er/b.txt", "dest_path": "c.txt"}},
    ])
    assert trace.outputs == {} and (tmp_path / "c.txt").read_text() == "hi" and not (tmp_path / "deep/er/b.txt").exists()
    for confirm in ("true", 1, None):  # only the boolean true deletes
        refused = run(tmp_path, [{"id": "d", "type": "delete-file", "params": {"file_path": "a.txt", "inputs": {"confirm_delete": confirm}}}])
        assert refused.status.value == "failed" and "not confirmed" in refused.error and (tmp_path / "a.txt").exists()
    gone = run(tmp_path, [{"id": "d", "type": "delete-file", "params": {"file_path": "a.txt", "inputs": {"confirm_delete": True}}}])
    assert gone.status.value == "passed" and not (tmp_path / "a.txt").exists()
