"""The first code a sandboxed script's interpreter runs: `python -I _bootstrap.py LIMIT SCRIPT`.

It exists because the limits and the import path must be set inside the child: the memory cap
here rather than in `preexec_fn` (unsafe in the threaded harness), and sys.path by hand because
`-I` ignores PYTHONPATH. Standard library only; the harness imports it only for MEMORY_EXIT.
"""

import os
import resource
import runpy
import sys
import traceback

MEMORY_EXIT = 86  # the exit code that says "ran out of memory"


def main() -> None:
    limit, script = int(sys.argv[1]), sys.argv[2]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # hard limit too: it cannot be raised back
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    sys.dont_write_bytecode = True  # -I ignores PYTHONDONTWRITEBYTECODE
    stubs = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [os.path.dirname(script), *stubs]
    sys.argv = [script]
    try:
        runpy.run_path(script, run_name="__main__")
    except MemoryError:
        traceback.print_exc()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(MEMORY_EXIT)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next  # hide this file's and runpy's frames
        traceback.print_exception(type(exc), exc, tb or exc.__traceback__)
        sys.exit(1)


if __name__ == "__main__":
    main()
