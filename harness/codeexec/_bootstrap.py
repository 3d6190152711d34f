"""The first code a sandboxed script's interpreter runs:
`python -I _bootstrap.py MEMORY FILESIZE PROCESSES SCRIPT` (bytes, bytes, a count).

It exists because the limits and the import path must be set inside the child: the rlimits here
rather than in `preexec_fn` (unsafe in the threaded harness), and sys.path by hand because `-I`
ignores PYTHONPATH. Hard limits too, so the script cannot raise them back. RLIMIT_AS caps each
process's address space (a cgroup, where there is one, caps them all together); RLIMIT_FSIZE
each file it writes, stdout and stderr included (they are files on the host); RLIMIT_NPROC its
processes where the kernel applies it (not to root; the pids cgroup does). Standard library
only; the harness imports it only for MEMORY_EXIT.
"""

import os
import resource
import runpy
import sys
import traceback

MEMORY_EXIT = 86  # the exit code that says "ran out of memory"


def main() -> None:
    memory, file_size, processes = (int(n) for n in sys.argv[1:4])
    script = sys.argv[4]
    for which, limit in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, file_size),
                         (resource.RLIMIT_NPROC, processes), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (limit, limit))
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
