"""The shell node's one watchdog thread: each command's deadline kills its process group; a
command that ends in time is left alone; many commands share the thread."""

import threading
import time

from runner.nodes.shell import _WATCHDOG, _run


def test_a_command_past_its_timeout_is_killed_and_one_in_time_is_not(tmp_path):
    done, fired = _run("sleep 30", None, tmp_path, {"PATH": "/usr/bin:/bin"}, 0.3)
    assert fired and done.returncode == -9
    done, fired = _run("echo ok", None, tmp_path, {"PATH": "/usr/bin:/bin"}, 0.3)
    assert not fired and done.stdout == "ok\n"
    time.sleep(0.5)  # past the disarmed deadline: nothing fires late
    assert not fired


def test_deadlines_fire_in_order_whatever_order_they_were_armed_in():
    seen: list[str] = []
    lock = threading.Lock()

    def note(name):
        def fire():
            with lock:
                seen.append(name)
        return fire

    before = threading.active_count()
    tokens = [_WATCHDOG.arm(0.4, note("late")), _WATCHDOG.arm(0.1, note("early")), _WATCHDOG.arm(0.2, note("disarmed"))]
    _WATCHDOG.disarm(tokens[2])
    time.sleep(0.8)
    assert seen == ["early", "late"]
    assert threading.active_count() <= max(before, 2)  # one watchdog thread, not one per command
