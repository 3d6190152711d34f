"""The HTML report of a large run: its file size, how long flowtape takes to write it, and how
long headless Chromium takes to show it and to filter it, for a made-up run of N cases (default
10,000; tests/harness/reports/synthetic.py: three steps each with a stored trace, one case in
seven failing).

    .venv/bin/python benchmarks/report_size.py [--cases 10000] [--repeat 3]

The page is opened `--repeat` times in a fresh headless Chromium (/usr/bin/chromium), driven over
its DevTools protocol on a pipe (`--remote-debugging-pipe`: JSON messages ended by NUL on file
descriptors 3 and 4; no websocket library needed). Per load: first contentful paint and the load
event (the page's own `performance` entries), and wall time from `Page.navigate` to the load
event; then, in the loaded page, the time to filter to the failures and to search every case's
steps for a phrase (the page's script redraws synchronously, so `performance.now()` around the
change covers the redraw's script, not the paint). Printed: the median with min and max.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "harness" / "reports"))

from harness.reports import build_report, to_html  # noqa: E402
from synthetic import synthetic_run  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1280,1000")


class DevTools:
    """One headless Chromium and one page in it, driven over `--remote-debugging-pipe`."""

    def __init__(self, profile: Path) -> None:
        to_browser, self._write = os.pipe()  # Chromium reads commands on its fd 3
        self._read, from_browser = os.pipe()  # and writes answers and events on its fd 4
        # Above 4 first, so that putting one end on 3 cannot overwrite the other before it is moved.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_browser, from_browser)]
        self.process = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
                                        pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        preexec_fn=lambda: (os.dup2(high[0], 3), os.dup2(high[1], 4)))
        for fd in (to_browser, from_browser, *high):
            os.close(fd)
        self._buffer, self._id, self.session = b"", 0, None
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._message()
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def wait_for(self, event: str) -> None:
        while self._message().get("method") != event:
            pass

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
        return result["result"].get("value")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self._write)
        os.close(self._read)


# Runs in the loaded page: its paint and load figures, then a filter and a search, timed.
PROBE = """new Promise(function (done) { requestAnimationFrame(function () { setTimeout(function () {
  var paint = performance.getEntriesByName('first-contentful-paint')[0], nav = performance.getEntriesByType('navigation')[0];
  function timed(id, value, kind) {
    var control = document.getElementById(id), start = performance.now();
    control.value = value; control.dispatchEvent(new Event(kind));
    return performance.now() - start;
  }
  var filter = timed('filter-status', 'failed', 'change'), shown = document.querySelectorAll('#case-list details.case').length;
  timed('filter-status', '', 'change');
  var search = timed('filter-text', 'summarise the 1234 rows', 'input'), found = document.querySelectorAll('#case-list details.case').length;
  done({fcp: paint ? paint.startTime : null, load: nav.loadEventEnd, filter: filter, search: search, shown: shown, found: found,
        nodes: document.getElementsByTagName('*').length});
}, 0); }); })"""


def load(page: Path, profile: Path) -> dict[str, float]:
    browser = DevTools(profile)
    try:
        start = time.perf_counter()
        browser.call("Page.navigate", {"url": page.as_uri()})
        browser.wait_for("Page.loadEventFired")
        figures = browser.evaluate(PROBE)
        figures["wall"] = (time.perf_counter() - start) * 1000
        return figures
    finally:
        browser.close()


def spread(values: list[float], unit: str = "ms") -> str:
    return f"{statistics.median(values):,.0f} {unit} (min {min(values):,.0f}, max {max(values):,.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        ledger, run = synthetic_run(folder, args.cases)
        made = time.perf_counter() - start
        start = time.perf_counter()
        data = build_report(ledger, run)
        read = time.perf_counter() - start
        start = time.perf_counter()
        html = to_html(data)
        written = time.perf_counter() - start
        page = folder / "report.html"
        page.write_text(html, encoding="utf-8")
        size = page.stat().st_size
        print(f"{args.cases:,} cases ({sum(c.status != 'passed' for c in data.cases):,} failing); ledger and traces made in {made:.1f} s")
        print(f"build_report {read:.2f} s, to_html {written:.2f} s; the page: {size / 1e6:.1f} MB ({size / args.cases / 1e3:.2f} kB per case)")
        loads = []
        for k in range(args.repeat):
            profile = folder / f"profile-{k}"
            profile.mkdir()
            loads.append(load(page, profile))
        first = loads[0]
        print(f"Chromium, {args.repeat} loads: first contentful paint {spread([f['fcp'] for f in loads])}, "
              f"load event {spread([f['load'] for f in loads])}, navigate to load (wall) {spread([f['wall'] for f in loads])}")
        print(f"filter to failures {spread([f['filter'] for f in loads])} ({first['shown']} cases drawn), "
              f"search every step {spread([f['search'] for f in loads])} ({first['found']} found); {first['nodes']:,} DOM elements")


if __name__ == "__main__":
    main()
