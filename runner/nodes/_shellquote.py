"""Quote templated values for the place they stand in a shell command (POSIX sh).

The command text from the IR is shell syntax; a value from an input or a node is data. A
`_Scanner` reads the command's own text and knows, at each template, whether the shell is in
bare words, inside "double" or 'single' quotes, or inside a here-document body (quoted
delimiter: nothing expands; bare delimiter: `$`, backticks and backslashes do), and the value
is quoted for exactly that place:

    >>> render("echo ${v}", lambda e: "a; b")
    "echo 'a; b'"
"""

from __future__ import annotations

import re
import shlex
from typing import Any, Callable

__all__ = ["QuoteError", "render"]

_HEREDOC = re.compile(r"<<(-?)[ \t]*(?:'([^'\n]+)'|\"([^\"\n]+)\"|\\?([A-Za-z0-9_]+))")


class QuoteError(ValueError):
    """A value cannot be placed safely (it would end the here-document it stands in)."""


class _Scanner:
    def __init__(self) -> None:
        self.context = ""  # "", "'", '"', or "heredoc"
        self.pending: list[tuple[str, bool, bool]] = []  # (delimiter, quoted, strip_tabs)
        self.heredoc: tuple[str, bool, bool] | None = None
        self.line = ""  # text of the current line (for here-document ends and starts)
        self.tainted = False  # the current here-document line holds part of a value

    def feed(self, text: str, *, value: bool = False) -> None:
        """Advance over `text`; `value` marks text that came from a templated value."""
        self.tainted = self.tainted or value
        i = 0
        while i < len(text):
            ch = text[i]
            if self.context == "heredoc":
                if ch == "\n":
                    self._heredoc_line_done()
                    self.tainted = value
                else:
                    self.line += ch
                i += 1
                continue
            if ch == "\n":
                self.line, self.tainted = "", value
                if self.context == "" and self.pending:
                    self.heredoc = self.pending.pop(0)
                    self.context = "heredoc"
            else:
                self.line += ch
            if self.context == "'":
                if ch == "'":
                    self.context = ""
            elif ch == "\\" and i + 1 < len(text):
                self.line += text[i + 1]
                i += 1
            elif self.context == '"':
                if ch == '"':
                    self.context = ""
            elif ch in "'\"":
                self.context = ch
            elif ch == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
                m = _HEREDOC.match(text, i)
                if m:
                    delim = m.group(2) or m.group(3) or m.group(4)
                    self.pending.append((delim, m.group(4) is None, m.group(1) == "-"))
                    self.line += text[i + 1 : m.end()]
                    i = m.end()
                    continue
            i += 1

    def _heredoc_line_done(self) -> None:
        assert self.heredoc is not None
        delim, _, strip = self.heredoc
        if (self.line.lstrip("\t") if strip else self.line) == delim:
            if self.tainted:
                raise QuoteError(f"a value would make a line '{delim}' and end the here-document it is placed in")
            self.heredoc = self.pending.pop(0) if self.pending else None
            self.context = "heredoc" if self.heredoc else ""
        self.line = ""

    def quote(self, value: str) -> str:
        if self.context == '"':
            return "".join("\\" + ch if ch in '"\\$`' else ch for ch in value)
        if self.context == "'":
            return value.replace("'", "'\\''")
        if self.context == "heredoc":
            assert self.heredoc is not None
            quoted = self.heredoc[1]
            return value if quoted else "".join("\\" + ch if ch in "\\$`" else ch for ch in value)
        return shlex.quote(value)


def render(segments: tuple[Any, ...], evaluate: Callable[[Any], str]) -> str:
    """Join literal `str` segments and evaluated template segments, quoting the latter."""
    scanner = _Scanner()
    out: list[str] = []
    for seg in segments:
        if isinstance(seg, str):
            scanner.feed(seg)
            out.append(seg)
        else:
            quoted = scanner.quote(evaluate(seg))
            scanner.feed(quoted, value=True)
            out.append(quoted)
    scanner.feed("\n")  # a value on the last line may not end a here-document either
    return "".join(out)
