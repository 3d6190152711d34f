"""Which simple commands make the shell parse an argument as code: `eval`, `sh -c SCRIPT`.

A template among such arguments would have its value parsed as shell syntax at run time, however
it is quoted, so `_shellquote` refuses it. `words` are the complete words of one simple command
as the scanner read them (quotes kept), before the word the template stands in:

    >>> runs_as_code(["eval"]) is not None, runs_as_code(["sh", "-c", "'echo $1'", "_"]) is None
    (True, True)
"""

from __future__ import annotations

__all__ = ["SHELLS", "evaluates_arithmetic", "reads_script_from_stdin", "runs_as_code"]

SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"}
_ARITHMETIC_TESTS = {"-eq", "-ne", "-lt", "-le", "-gt", "-ge"}


def runs_as_code(words: list[str]) -> str | None:
    """Why the next word of this simple command is parsed as code (message), or None."""
    names = [_unquote(w).rsplit("/", 1)[-1] for w in words]
    if "eval" in names:
        return "a template inside `eval` would run data as code; pass it as an argument or on stdin"
    shell = _shell_script_pending(names)
    if shell:
        return (f"a template inside the script of `{shell} -c` would run data as code; pass it as an argument "
                f"after the script ({shell} -c 'echo \"$1\"' _ ${{value}}) or on stdin")
    return None


def evaluates_arithmetic(words: list[str]) -> bool:
    """True for a simple command whose operands bash evaluates as arithmetic: `let ...` and
    `[[ a -eq b ]]` (the values there must be integers)."""
    names = [_unquote(w) for w in words]
    return bool(names) and (names[0] == "let" or names[0] == "[[" and bool(_ARITHMETIC_TESTS.intersection(names)))


def _unquote(word: str) -> str:
    return word.replace("'", "").replace('"', "")


def _shell_script_pending(names: list[str]) -> str | None:
    """The shell's name when `names` are a shell with `-c` and no script yet: the next word is
    its script."""
    for k, name in enumerate(names):
        if name not in SHELLS:
            continue
        c_mode, rest = False, names[k + 1 :]
        j = 0
        while j < len(rest):
            word = rest[j]
            if word in ("-o", "+o"):
                j += 2
                continue
            if word == "--" or not word[:1] in ("-", "+") or len(word) < 2:
                break
            c_mode = c_mode or (word.startswith("-") and not word.startswith("--") and "c" in word[1:])
            j += 1
        operands = rest[j + (j < len(rest) and rest[j] == "--") :]
        if c_mode and not operands:
            return name
    return None


def reads_script_from_stdin(words: list[str]) -> bool:
    """True when the command is a shell that reads its script from stdin (no `-c`, no file)."""
    names = [_unquote(w).rsplit("/", 1)[-1] for w in words]
    for k, name in enumerate(names):
        if name in SHELLS:
            rest = names[k + 1 :]
            if not any(w.startswith("-") and "c" in w[1:] and not w.startswith("--") for w in rest) and not any(not w.startswith(("-", "+")) for w in rest):
                return True
    return False
