"""pydantic-evals on the same machine, for `benchmarks/suite.py` to print beside flowtape.

Runs in its own environment (pydantic-evals is not a flowtape dependency):
`benchmarks/suite.py` creates `.venv-bench/pydantic-evals` on first use with
`pip install pydantic-evals==2.62.0` and runs this file there. It evaluates a dataset of N cases whose
task does nothing (returns its input) with five deterministic evaluators, as in the issue's
measurement, and prints one JSON line: {"cases", "seconds", "cases_per_s", "version"}.

    .venv-bench/pydantic-evals/bin/python benchmarks/pydantic_evals_side.py --cases 1000
"""

from __future__ import annotations

import argparse
import json
import time
from importlib.metadata import version


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1000)
    args = parser.parse_args()
    from pydantic_evals import Case, Dataset
    from pydantic_evals.evaluators import Contains, Equals, EqualsExpected, IsInstance, MaxDuration

    cases = [Case(name=f"case-{i:05d}", inputs=f"+9.0h case {i}", expected_output=f"+9.0h case {i}") for i in range(args.cases)]
    dataset = Dataset(name="noop", cases=cases, evaluators=[EqualsExpected(), Contains(value="+9.0h"), IsInstance(type_name="str"),
                                               Equals(value="never"), MaxDuration(seconds=1.0)])

    async def task(text: str) -> str:
        return text

    started = time.perf_counter()
    report = dataset.evaluate_sync(task)
    seconds = time.perf_counter() - started
    assert len(report.cases) == args.cases, len(report.cases)
    print(json.dumps({"cases": args.cases, "seconds": seconds, "cases_per_s": args.cases / seconds, "version": version("pydantic-evals")}))


if __name__ == "__main__":
    main()
