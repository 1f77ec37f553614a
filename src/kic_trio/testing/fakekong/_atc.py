"""A small checker of Kong's ATC expressions (the ``expressions`` router's route language).

Kong compiles every route's ``expression`` with its ATC router and refuses the configuration
when that fails (``Router Expression failed validation: <ATC error>``). The ATC error texts
come from a Rust library and are not reproduced here; the *decision* is: a predicate is
``<field> <op> <value>``, predicates combine with ``&&``/``||``, parentheses and ``!``, string
literals are double-quoted with backslash escapes, and a regex (``~``) must compile without
look-around or back-references (Rust's ``regex`` has neither). That is enough to catch a
translator that forgets to escape a value, or a path regex Kong would refuse.
"""

from __future__ import annotations

import re

_OPS = ("==", "!=", "^=", "=^", ">=", "<=", "~", ">", "<")
_WORD_OPS = ("not in", "in", "contains")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
_FIELD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.*")
_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")


class ATCError(ValueError):
    """The expression does not compile."""


class _Parser:
    def __init__(self, text: str, regex: bool) -> None:
        self.s = text
        self.i = 0
        self.regex = regex

    def _ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i] in " \t\r\n":
            self.i += 1

    def _peek(self, tok: str) -> bool:
        self._ws()
        return self.s.startswith(tok, self.i)

    def expr(self, depth: int = 0) -> None:
        if depth > 64:
            raise ATCError("expression nested too deeply")
        self.term(depth)
        while True:
            if self._peek("&&") or self._peek("||"):
                self.i += 2
                self.term(depth)
            else:
                return

    def term(self, depth: int) -> None:
        self._ws()
        if self._peek("!"):
            self.i += 1
            self._ws()
            if not self._peek("("):
                raise ATCError(f"expected '(' after '!' at {self.i}")
        if self._peek("("):
            self.i += 1
            self.expr(depth + 1)
            if not self._peek(")"):
                raise ATCError(f"expected ')' at {self.i}")
            self.i += 1
            return
        self.predicate()

    def predicate(self) -> None:
        self._ws()
        start = self.i
        while self.i < len(self.s) and self.s[self.i] in _FIELD_CHARS:
            self.i += 1
        field = self.s[start : self.i]
        if not field or field.startswith(".") or field.endswith(".") or ".." in field:
            raise ATCError(f"expected a field name at {start}")
        self._ws()
        op = next((o for o in _OPS if self.s.startswith(o, self.i)), None)
        if op is None:
            op = next((o for o in _WORD_OPS if self.s.startswith(o + " ", self.i)), None)
        if op is None:
            raise ATCError(f"expected an operator after {field!r} at {self.i}")
        self.i += len(op)
        value = self.value()
        if op == "~" and isinstance(value, str) and self.regex:
            check_regex(value)

    def value(self) -> str | int:
        self._ws()
        if self._peek('"'):
            self.i += 1
            out: list[str] = []
            while True:
                if self.i >= len(self.s):
                    raise ATCError("unterminated string literal")
                ch = self.s[self.i]
                if ch == '"':
                    self.i += 1
                    return "".join(out)
                if ch == "\\":
                    nxt = self.s[self.i + 1 : self.i + 2]
                    if nxt not in _ESCAPES:
                        raise ATCError(f"invalid escape sequence at {self.i}")
                    out.append(_ESCAPES[nxt])
                    self.i += 2
                    continue
                out.append(ch)
                self.i += 1
        start = self.i
        while self.i < len(self.s) and (self.s[self.i].isdigit() or self.s[self.i] == "-"):
            self.i += 1
        if self.i == start:
            raise ATCError(f"expected a value at {start}")
        try:
            return int(self.s[start : self.i])
        except ValueError:
            raise ATCError(f"expected a value at {start}") from None


def check_regex(regex: str) -> None:
    """Refuse what Rust's ``regex`` cannot compile (approximated with Python's compiler)."""
    if any(la in regex for la in _LOOKAROUND):
        raise ATCError("regex parse error: look-around is not supported")
    try:
        re.compile(regex)
    except re.error as exc:
        raise ATCError(f"regex parse error: {exc}") from None
    if re.search(r"\\[1-9]", regex):
        raise ATCError("regex parse error: backreferences are not supported")


def check_expression(text: str, *, regex: bool = True) -> None:
    """Raise :class:`ATCError` when Kong's router would not compile ``text``.

    ``regex=False`` checks the syntax only (the regexes inside are not compiled).
    """
    if not text.strip():
        raise ATCError("empty expression")
    p = _Parser(text, regex)
    p.expr()
    p._ws()
    if p.i != len(text):
        raise ATCError(f"unexpected input at {p.i}")
