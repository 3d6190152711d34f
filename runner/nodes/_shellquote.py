"""Put templated values into a shell command (POSIX sh) without ever making them shell text.

A value from an input or a node is data. It is never spliced into the command: each value goes
into the environment of the `sh -c` process as `__ft_0`, `__ft_1`, ... and the command text gets
a reference to it, written for the place the template stands in:

    bare words                      "${__ft_0}"      one word, whatever the value holds
    inside "double quotes"          ${__ft_0}
    inside 'single quotes'          '"${__ft_0}"'    close, expand in double quotes, reopen
    here-document body              ${__ft_0}
    inside $(( arithmetic ))        ${__ft_0}        the value must be an integer (bash would
                                                     run `a[$(cmd)]` found in one); the same
                                                     check holds in (( )), let and [[ -eq ]]

    >>> r = render(templates.parse("echo ${v}").segments, lambda e: "a; b")
    >>> r.command, r.values
    ('echo "${__ft_0}"', {'__ft_0': 'a; b'})

The shell expands a parameter once and never parses its value again, so what a reference brings
in is text in every context. The `_Scanner` below, which tracks quotes, `$( )`, backticks,
comments and here-documents, only decides which of the forms above reads right; when it is wrong
about the context, the output is off (the spliced characters are only quotes, `$`, braces and
the variable's name), never a command made of data.

Here-documents follow the shell's word rules: `<<WORD` or `<<-WORD` (leading tabs stripped),
WORD ending at an unquoted blank or operator (`-`, `!`, `.` are ordinary characters), the
delimiter being WORD with quotes removed; any quoting in WORD (`'EOF'`, `"EOF"`, `E"O"F`,
`\\EOF`) makes the body literal. A literal body cannot expand a reference, so a quoted
here-document that holds a template is rewritten as an unquoted one: its delimiter is written
without the quotes and `\\`, `$` and backticks of its own text are escaped, so the body reads
exactly as before and the value arrives through its reference. (A delimiter that cannot be
written without quotes, such as `'END OF'`, is refused when a template stands in its body.) As a
value is no longer part of the text, it cannot end a here-document early either.

In the body of a here-document written unquoted (`<<EOF`), the shell reads `\\\\`, `\\$` and
`\\`` as the escaped character and drops `\\` before a newline. A value placed there gets the
same treatment, as text: pflow pastes values into the command, so its workflows escape a value
for that place (`\\$` for `$`), and the value reads as the author meant, without a second layer
of escapes. Nothing in it is expanded (`$(cmd)` stays text). A quoted here-document (`<<'EOF'`)
keeps its values byte for byte, as it keeps its text.

Refused, because the shell would parse the value as code at run time whatever the quoting:
a template among the arguments of `eval`, in the script argument of `sh -c` / `bash -c` (any
of sh, bash, dash, zsh, ksh, ash, mksh), in a here-document fed to such a shell, and values
holding a NUL byte (the environment cannot carry them). What other interpreters do with their
program text (`awk "..."`, `python -c`) is beyond the shell: pass values there as arguments
(`awk -v x="${v}"`) or on stdin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from runner.nodes import _shellcode

__all__ = ["CodeTemplateError", "QuoteError", "Rendered", "render"]

ENV_PREFIX = "__ft_"
_META = set(" \t\n;&|<>()")
_PLAIN_DELIMITER = re.compile(r"[^\s|&;<>()$`\\\"'#*?\[~]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# Runs of characters that change no state of the scanner, taken whole (per character, long
# literal text made rendering quadratic: `word += ch` copies the word every time).
_CMD_PLAIN = re.compile(r"[^\s;&|<>()'\"`#$\\]+")
_DQ_PLAIN = re.compile(r'[^"`$\\]+')
# In the body of an unquoted here-document the shell takes the backslash from `\\`, `\$`, `\``
# and removes `\` + newline; nothing else is an escape there.
_HEREDOC_ESCAPE = re.compile(r"\\([\\$`\n])")


class QuoteError(ValueError):
    """A value cannot be passed to the command (a NUL byte, a non-integer in arithmetic, a
    here-document whose delimiter cannot be rewritten)."""


class CodeTemplateError(QuoteError):
    """A template stands where the shell would run its value as code (`eval`, `sh -c`)."""


@dataclass
class Rendered:
    """The command text as run (with references) and the values its references name."""

    command: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class _Heredoc:
    raw: str  # the word as written after << or <<-
    delimiter: str
    quoted: bool
    strip_tabs: bool
    feeds_shell: bool  # the command it belongs to is a shell reading its script from stdin
    rewritten: bool = False

    def word(self) -> str:
        return self.delimiter if self.rewritten else self.raw


@dataclass
class _Body:
    heredoc: _Heredoc
    text: str

    def __str__(self) -> str:
        if not self.heredoc.rewritten:
            return self.text
        return "".join("\\" + ch if ch in "\\$`" else ch for ch in self.text)


@dataclass
class _Frame:
    kind: str  # "cmd", "dq", "sq", "arith", "comment", "heredoc"
    closer: str = ""  # cmd: "" (top level), ")" for $( ), "`" for backticks
    depth: int = 0  # open parentheses inside a cmd or arith frame
    words: list[str] = field(default_factory=list)  # cmd: complete words of the simple command
    word: str = ""  # cmd: the word being read
    values: list[str] = field(default_factory=list)  # cmd: values referenced in the simple command
    heredoc: _Heredoc | None = None
    line: str = ""  # heredoc: the body line being read


class _Scanner:
    def __init__(self) -> None:
        self.stack = [_Frame("cmd")]
        self.pending: list[_Heredoc] = []
        self.out: list[Any] = []

    @property
    def top(self) -> _Frame:
        return self.stack[-1]

    def _cmd(self) -> _Frame:
        return next(f for f in reversed(self.stack) if f.kind == "cmd")

    def _end_word(self, frame: _Frame) -> None:
        if frame.word:
            frame.words.append(frame.word)
            frame.word = ""

    def _end_command(self, frame: _Frame) -> None:
        self._end_word(frame)
        if frame.values and _shellcode.evaluates_arithmetic(frame.words):
            for value in frame.values:
                _check_integer(value)
        frame.words, frame.values = [], []

    def finish(self) -> None:
        """End the commands still open at the end of the text (their checks run now)."""
        for frame in self.stack:
            if frame.kind == "cmd":
                self._end_command(frame)

    def _emit(self, text: str) -> None:
        top = self.top
        if top.kind == "heredoc" and top.heredoc is not None and top.heredoc.quoted:
            self.out.append(_Body(top.heredoc, text))
        else:
            self.out.append(text)

    def feed(self, text: str) -> None:
        """Advance over literal command text, copying it to the output."""
        i = 0
        while i < len(text):
            i = self._step(text, i)

    def _step(self, text: str, i: int) -> int:
        top, ch = self.top, text[i]
        if top.kind == "heredoc":
            assert top.heredoc is not None
            end = text.find("\n", i)
            if end < 0:  # the line goes on in the next segment
                self._emit(text[i:])
                top.line += text[i:]
                return len(text)
            self._emit(text[i : end + 1])
            line = top.line + text[i:end]
            line = line.lstrip("\t") if top.heredoc.strip_tabs else line
            top.line = ""
            if line == top.heredoc.delimiter:
                self.stack.pop()
                if self.pending:
                    self.stack.append(_Frame("heredoc", heredoc=self.pending.pop(0)))
            return end + 1
        if top.kind == "comment":
            end = text.find("\n", i)
            if end < 0:
                self._emit(text[i:])
                return len(text)
            self._emit(text[i:end])
            self.stack.pop()
            return end  # the newline belongs to the command around the comment
        if top.kind == "sq":
            end = text.find("'", i)
            chunk = text[i:] if end < 0 else text[i:end]
            if chunk:
                self._emit(chunk)
                self._cmd().word += chunk
                return i + len(chunk)
            self._emit(ch)
            self.stack.pop()
            return i + 1
        if ch == "\\" and i + 1 < len(text):
            self._emit(text[i : i + 2])
            if top.kind != "arith":
                self._cmd().word += text[i + 1] if text[i + 1] != "\n" else ""
            return i + 2
        if text.startswith("$((", i):
            self._emit("$((")
            self.stack.append(_Frame("arith"))
            return i + 3
        if text.startswith("$(", i):
            self._emit("$(")
            self._cmd().word += "$("
            self.stack.append(_Frame("cmd", closer=")"))
            return i + 2
        if top.kind == "arith":
            self._emit(ch)
            if ch == "(":
                top.depth += 1
            elif ch == ")":
                if top.depth == 0 and text.startswith("))", i):
                    self.out.append(")")
                    self.stack.pop()
                    return i + 2
                top.depth -= 1
            return i + 1
        if top.kind == "dq":
            plain = _DQ_PLAIN.match(text, i)
            if plain:
                self._emit(plain.group())
                self._cmd().word += plain.group()
                return plain.end()
            self._emit(ch)
            if ch == '"':
                self.stack.pop()
            elif ch == "`":
                self.stack.append(_Frame("cmd", closer="`"))
            else:
                self._cmd().word += ch
            return i + 1
        return self._cmd_step(top, text, i)

    def _cmd_step(self, top: _Frame, text: str, i: int) -> int:
        ch = text[i]
        if text.startswith("((", i) and not top.word and not top.words:  # bash's arithmetic command
            self._emit("((")
            self.stack.append(_Frame("arith"))
            return i + 2
        if ch == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
            self._end_word(top)
            return self._heredoc_operator(top, text, i)
        plain = _CMD_PLAIN.match(text, i)
        if plain:
            self._emit(plain.group())
            top.word += plain.group()
            return plain.end()
        self._emit(ch)
        if ch == "'":
            top.word += "'"  # a quoted empty word is still a word
            self.stack.append(_Frame("sq"))
        elif ch == '"':
            top.word += '"'
            self.stack.append(_Frame("dq"))
        elif ch == "`":
            if top.closer == "`":
                self.stack.pop()
            else:
                top.word += "`"
                self.stack.append(_Frame("cmd", closer="`"))
        elif ch == "#" and not top.word:
            self.stack.append(_Frame("comment"))
        elif ch == "(":
            top.depth += 1
            self._end_command(top)
        elif ch == ")":
            if top.closer == ")" and top.depth == 0:
                self.stack.pop()
            else:
                top.depth -= 1
                self._end_command(top)
        elif ch == "\n":
            self._end_command(top)
            if self.pending:
                self.stack.append(_Frame("heredoc", heredoc=self.pending.pop(0)))
        elif ch in ";&|":
            self._end_command(top)
        elif ch in _META:
            self._end_word(top)
        else:
            top.word += ch
        return i + 1

    def _heredoc_operator(self, top: _Frame, text: str, i: int) -> int:
        """`<<[-] WORD`: read WORD by the shell's rules and queue its here-document."""
        j = i + 2
        strip = text.startswith("-", j)
        j += strip
        while j < len(text) and text[j] in " \t":
            j += 1
        start, delim, quoted = j, [], False
        while j < len(text) and text[j] not in _META:
            ch = text[j]
            if ch in "'\"":
                end = text.find(ch, j + 1)
                end = len(text) if end < 0 else end
                delim.append(text[j + 1 : end])
                quoted, j = True, end + 1
            elif ch == "\\":
                delim.append(text[j + 1 : j + 2])
                quoted, j = True, j + 2
            else:
                delim.append(ch)
                j += 1
        raw = text[start:j]
        if not raw:  # `<<` with no word: a syntax error for the shell; copy it as it is
            self._emit(text[i:j])
            return j
        heredoc = _Heredoc(raw, "".join(delim), quoted, strip, feeds_shell=_shellcode.reads_script_from_stdin(top.words))
        self.pending.append(heredoc)
        self._emit(text[i:start])
        self.out.append(heredoc)
        return j

    def reference(self, name: str, value: str) -> str:
        """Write the reference to the value held in environment variable `name`; return the
        value the variable holds (a value in an unquoted here-document loses the backslashes the
        shell would take from text written there)."""
        problem = self._code_context()
        if problem:
            raise CodeTemplateError(problem)
        if "\x00" in value:
            raise QuoteError("a value holds a NUL byte, which cannot be passed to a command")
        top = self.top
        if top.kind in ("cmd", "sq", "dq"):
            self._cmd().values.append(value)
        if top.kind == "cmd":
            top.word += "${}"
            self.out.append(f'"${{{name}}}"')
        elif top.kind == "sq":
            self._cmd().word += "${}"
            self.out.append(f"'\"${{{name}}}\"'")
        elif top.kind == "arith":
            _check_integer(value)
            self.out.append(f"${{{name}}}")
        elif top.kind == "heredoc":
            heredoc = top.heredoc
            assert heredoc is not None
            if heredoc.quoted and not heredoc.rewritten:
                if not _PLAIN_DELIMITER.fullmatch(heredoc.delimiter):
                    raise QuoteError(f"a template inside the here-document <<{heredoc.raw} cannot be passed: "
                                     "write its delimiter as a plain word (e.g. <<'EOF')")
                heredoc.rewritten = True
            top.line += "${}"
            self.out.append(f"${{{name}}}")
            if not heredoc.quoted:
                return _HEREDOC_ESCAPE.sub(_unescaped, value)
        else:  # dq, comment
            if top.kind == "dq":
                self._cmd().word += "${}"
            self.out.append(f"${{{name}}}")
        return value

    def _code_context(self) -> str | None:
        """Why the shell would run a value placed here as code, or None."""
        for frame in self.stack:
            if frame.kind == "heredoc" and frame.heredoc is not None and frame.heredoc.feeds_shell:
                return "a template inside a here-document read by a shell as its script would run data as code; pass it as an argument or on stdin"
            problem = _shellcode.runs_as_code(frame.words) if frame.kind == "cmd" else None
            if problem:
                return problem
        return None

    def text(self) -> str:
        return "".join(p.word() if isinstance(p, _Heredoc) else str(p) for p in self.out)


def _unescaped(match: re.Match[str]) -> str:
    return "" if match.group(1) == "\n" else match.group(1)


def _check_integer(value: str) -> None:
    # bash evaluates an operand of arithmetic recursively: `a[$(cmd)]` in one runs cmd.
    if not _INTEGER.fullmatch(value.strip()):
        raise QuoteError(f"a value used in shell arithmetic ($(( )), (( )), let, [[ -eq ]]) must be an integer, got {value[:40]!r}")


def render(segments: tuple[Any, ...], evaluate: Callable[[Any], str]) -> Rendered:
    """Join literal `str` segments with references to the evaluated template segments.

    Raises:
        CodeTemplateError: a template stands where its value would run as code.
        QuoteError: a value cannot be passed (NUL byte, non-integer arithmetic, odd delimiter).
    """
    scanner = _Scanner()
    values: dict[str, str] = {}
    for seg in segments:
        if isinstance(seg, str):
            scanner.feed(seg)
        else:
            name = f"{ENV_PREFIX}{len(values)}"
            values[name] = scanner.reference(name, evaluate(seg))
    scanner.finish()
    return Rendered(scanner.text(), values)
