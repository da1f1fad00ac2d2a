"""SOQL text → tokens: identifiers, quoted strings, numbers, date/datetime literals, operators."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from sf_emulator.soql.errors import malformed

TokenKind = Literal[
    "ident", "string", "number", "date", "datetime", "op", "(", ")", ",", ".", ":", "eof"
]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str
    pos: int
    value: object = None
    like: str | None = None  # for strings: the LIKE regex, with \% and \_ kept literal

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


_SPACE = re.compile(r"\s+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TEMPORAL = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:T(?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d+)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?)?"
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCTUATION = "(),.:"
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "%": "%",
    "_": "_",
}


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text`` followed by an ``eof`` token; MALFORMED_QUERY on stray input."""
    tokens: list[Token] = []
    pos = 0
    while True:
        space = _SPACE.match(text, pos)
        if space:
            pos = space.end()
        if pos >= len(text):
            tokens.append(Token("eof", "<EOF>", pos))
            return tokens
        token = _token_at(text, pos)
        tokens.append(token)
        pos += len(token.text)


def _token_at(text: str, pos: int) -> Token:
    char = text[pos]
    if char == "'":
        return _string(text, pos)
    if char.isdigit():
        temporal = _TEMPORAL.match(text, pos)
        if temporal and (temporal["time"] or not _continues_number(text, temporal.end())):
            return _temporal(text, pos, temporal)
    number = _NUMBER.match(text, pos)
    if number and (char.isdigit() or char in "+-."):
        if _IDENT.match(text, number.end()):
            raise malformed(f"unexpected token: '{_word(text, pos)}'", text=text, pos=pos)
        literal = number.group()
        value = float(literal) if "." in literal else int(literal)
        return Token("number", literal, pos, value)
    ident = _IDENT.match(text, pos)
    if ident:
        return Token("ident", ident.group(), pos)
    for operator in _OPERATORS:
        if text.startswith(operator, pos):
            return Token("op", operator, pos)
    if char in _PUNCTUATION:
        return Token(char, char, pos)  # type: ignore[arg-type]
    raise malformed(f"unexpected token: '{char}'", text=text, pos=pos)


def _word(text: str, pos: int) -> str:
    end = pos
    while end < len(text) and (text[end].isalnum() or text[end] in "_.+-"):
        end += 1
    return text[pos:end]


def _continues_number(text: str, end: int) -> bool:
    return end < len(text) and (text[end].isalnum() or text[end] == "_")


def _temporal(text: str, pos: int, match: re.Match[str]) -> Token:
    literal = match.group()
    if _continues_number(text, match.end()):
        raise malformed(f"unexpected token: '{_word(text, pos)}'", text=text, pos=pos)
    try:
        day = dt.date.fromisoformat(match["date"])
        if not match["time"]:
            return Token("date", literal, pos, day)
        return Token("datetime", literal, pos, _moment(day, match))
    except (ValueError, OverflowError):
        raise malformed(
            f"line 1:{pos} no viable alternative at character '{literal}'", text=text, pos=pos
        ) from None


def _moment(day: dt.date, match: re.Match[str]) -> dt.datetime:
    """The UTC instant of a datetime literal; ValueError or OverflowError when there is none."""
    zone = match["zone"]
    if not zone:
        raise ValueError("a datetime literal needs a time zone")
    clock = dt.time.fromisoformat(match["time"])
    micros = int(((match["fraction"] or ".0")[1:] + "000000")[:6])
    offset = dt.timedelta(0)
    if zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        offset = -offset if zone[0] == "-" else offset
    local = dt.datetime.combine(day, clock, tzinfo=dt.timezone(offset))
    return local.replace(microsecond=micros).astimezone(dt.UTC)


def _string(text: str, pos: int) -> Token:
    """A quoted string: its value and the LIKE regex in which only unescaped % and _ are wild."""
    value: list[str] = []
    like: list[str] = []
    index = pos + 1
    while index < len(text):
        char = text[index]
        if char == "'":
            literal = text[pos : index + 1]
            return Token("string", literal, pos, "".join(value), "".join(like))
        if char == "\\":
            escaped = text[index + 1 : index + 2]
            if escaped not in _ESCAPES:
                raise malformed(
                    f"Invalid string literal '{text[pos : index + 2]}'. Illegal escape sequence "
                    f"'\\{escaped}'",
                    text=text,
                    pos=index,
                )
            value.append(_ESCAPES[escaped])
            like.append(re.escape(_ESCAPES[escaped]))
            index += 2
            continue
        value.append(char)
        like.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    raise malformed("unexpected token: <EOF>, unterminated string literal", text=text, pos=pos)
