"""Shell rendering cost against the size of what is rendered, measured in one run: literal
command text (a here-document, a quoted word, a comment) and a templated value, from 10 KB to
1 MB. Linear means the per-byte cost stays flat as the size grows 100x (target: the 1 MB
per-byte cost within 2x of the 10 KB one; before the scanner took plain runs whole, a 100 KB
here-document took 2.5 s and 1 MB about two minutes).

    .venv/bin/python benchmarks/shell_render.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from runner.nodes.shell import render_command

SIZES = (10_000, 100_000, 1_000_000)
SHAPES = {
    "here-document": lambda body: ("cat <<'EOF'\n" + body + "\nEOF\n", {}),
    "single-quoted": lambda body: ("echo '" + body + "'", {}),
    "double-quoted": lambda body: ('echo "' + body + '"', {}),
    "bare word": lambda body: ("echo " + body, {}),
    "templated value": lambda body: ("printf '%s' ${v} | wc -c", {"v": body}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    print(f"{'shape':<16} " + " ".join(f"{n // 1000:>7} KB" for n in SIZES) + "   ns/byte 1 MB : 10 KB")
    for name, shape in SHAPES.items():
        per_byte = []
        cells = []
        for n in SIZES:
            command, scope = shape("y" * n)
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                render_command(command, scope)
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            per_byte.append(median / n)
            cells.append(f"{median * 1000:>7.2f} ms")
        print(f"{name:<16} " + " ".join(cells) + f"   {per_byte[-1] / per_byte[0]:.2f}x")


if __name__ == "__main__":
    main()
