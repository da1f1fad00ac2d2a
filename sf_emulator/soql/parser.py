"""Recursive-descent parser: tokens → ``Query``. Unsupported SOQL is refused by name."""

from __future__ import annotations

from sf_emulator.soql.dates import RELATIVE_DATES
from sf_emulator.soql.errors import SoqlError, malformed
from sf_emulator.soql.lexer import Token, tokenize
from sf_emulator.soql.nodes import (
    Aggregate,
    BoolOp,
    Comparison,
    Condition,
    FieldRef,
    InList,
    Not,
    OrderItem,
    Query,
    RelativeDate,
    SemiJoin,
    Value,
)

MAX_OFFSET = 2000
MAX_NESTING = 100
AGGREGATES = frozenset(("COUNT", "COUNT_DISTINCT", "MIN", "MAX", "SUM", "AVG"))
RESERVED = frozenset(
    (
        "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES",
        "LAST", "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH",
        "ORDER", "OFFSET", "FOR", "USING", "TYPEOF", "TRUE", "FALSE", "ALL", "BY",
    )
)  # fmt: skip
_UNSUPPORTED_CLAUSES = {
    "GROUP": "GROUP BY",
    "HAVING": "HAVING",
    "WITH": "WITH",
    "FOR": "FOR VIEW/REFERENCE/UPDATE",
    "USING": "USING SCOPE",
    "UPDATE": "UPDATE TRACKING/VIEWSTAT",
}
_COMPARISONS = frozenset(("=", "!=", "<>", "<", "<=", ">", ">="))


def parse(text: str) -> Query:
    """Parse one SOQL statement; raise SoqlError (MALFORMED_QUERY) when it is not valid SOQL."""
    if not isinstance(text, str) or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
    return _Parser(text).statement()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0

    # ---- token helpers ---------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.current
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at(self, *words: str) -> bool:
        return self.current.upper in words

    def accept(self, word: str) -> bool:
        if self.current.upper == word:
            self.advance()
            return True
        return False

    def expect(self, word: str) -> Token:
        if self.current.upper != word and self.current.text != word:
            raise self.unexpected()
        return self.advance()

    def unexpected(self, token: Token | None = None) -> SoqlError:
        token = token or self.current
        shown = "<EOF>" if token.kind == "eof" else f"'{token.text}'"
        return malformed(f"unexpected token: {shown}", text=self.text, pos=token.pos)

    def unsupported(self, what: str, token: Token) -> SoqlError:
        return malformed(f"{what} is not supported", text=self.text, pos=token.pos)

    def identifier(self) -> Token:
        token = self.current
        if token.kind != "ident" or token.upper in RESERVED:
            raise self.unexpected()
        return self.advance()

    # ---- statement ---------------------------------------------------------------------------
    def statement(self) -> Query:
        query = self.query(nested=False)
        if self.current.kind != "eof":
            raise self.unexpected()
        return query

    def query(self, *, nested: bool) -> Query:
        self.expect("SELECT")
        select, count_only = self.select_list()
        self.expect("FROM")
        sobject_token = self.current
        if sobject_token.kind != "ident" or (
            sobject_token.upper in RESERVED and sobject_token.upper != "GROUP"
        ):
            raise self.unexpected()
        self.advance()
        alias = self.alias()
        where = None
        self.refuse_clause()
        if self.accept("WHERE"):
            where = self.condition()
        self.refuse_clause()
        order_by = self.order_by()
        limit = self.integer_clause("LIMIT")
        offset = self.integer_clause("OFFSET")
        if offset is not None and offset > MAX_OFFSET:
            raise SoqlError(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        self.refuse_clause()
        all_rows = False
        if not nested and self.at("ALL") and self.peek().upper == "ROWS":
            self.advance()
            self.advance()
            all_rows = True
        return Query(
            text=self.text,
            select=select,
            count_only=count_only,
            sobject=sobject_token.text,
            sobject_pos=sobject_token.pos,
            alias=alias,
            where=where,
            order_by=order_by,
            limit=limit,
            offset=offset,
            all_rows=all_rows,
        )

    def alias(self) -> str | None:
        token = self.current
        if token.kind == "ident" and token.upper not in RESERVED and token.upper not in ("UPDATE",):
            self.advance()
            return token.text
        return None

    def refuse_clause(self) -> None:
        token = self.current
        if token.upper in _UNSUPPORTED_CLAUSES:
            raise self.unsupported(_UNSUPPORTED_CLAUSES[token.upper], token)

    def integer_clause(self, word: str) -> int | None:
        if not self.accept(word):
            return None
        token = self.current
        if token.kind != "number" or not isinstance(token.value, int) or token.value < 0:
            raise self.unexpected()
        self.advance()
        return token.value

    # ---- SELECT list -------------------------------------------------------------------------
    def select_list(self) -> tuple[tuple[FieldRef | Aggregate, ...], bool]:
        items: list[FieldRef | Aggregate] = []
        count_only = False
        while True:
            token = self.current
            if token.kind == "(":
                raise self.unsupported("A subquery in the SELECT list", token)
            if token.upper == "TYPEOF":
                raise self.unsupported("TYPEOF", token)
            if token.kind == "ident" and self.peek().kind == "(":
                item = self.function_item()
                if item is None:
                    count_only = True
                else:
                    items.append(item)
            else:
                items.append(self.field_ref())
                if self.current.kind == "ident" and self.current.upper not in RESERVED:
                    raise malformed(
                        "Only aggregate expressions use field aliasing",
                        text=self.text,
                        pos=self.current.pos,
                    )
            if self.current.kind != ",":
                break
            self.advance()
        if count_only and items:
            raise malformed(
                "COUNT() cannot be combined with other fields", text=self.text, pos=token.pos
            )
        return tuple(items), count_only

    def function_item(self) -> Aggregate | None:
        """An aggregate call; None for ``COUNT()`` (the record count)."""
        name = self.advance()
        function = name.upper
        if function not in AGGREGATES:
            raise self.unsupported(f"The function {name.text}()", name)
        self.expect("(")
        if function == "COUNT" and self.current.kind == ")":
            self.advance()
            self.alias()
            return None
        if self.current.kind == "ident" and self.peek().kind == "(":
            raise self.unsupported(f"The function {self.current.text}()", self.current)
        field = self.field_ref()
        self.expect(")")
        return Aggregate(function=function, field=field, alias=self.alias(), pos=name.pos)

    def field_ref(self) -> FieldRef:
        first = self.identifier()
        path = [first.text]
        while self.current.kind == ".":
            self.advance()
            path.append(self.identifier().text)
        return FieldRef(path=tuple(path), pos=first.pos)

    # ---- WHERE -------------------------------------------------------------------------------
    def condition(self) -> Condition:
        """Conditions joined by AND or by OR; mixing both needs parentheses, as in Salesforce."""
        items = [self.unary()]
        operator = self.current.upper if self.at("AND", "OR") else None
        while operator and self.accept(operator):
            items.append(self.unary())
        if self.at("AND", "OR"):
            raise self.unexpected()
        return items[0] if len(items) == 1 else BoolOp(operator=operator, items=tuple(items))  # type: ignore[arg-type]

    def unary(self) -> Condition:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise malformed(
                "Too many nested conditions in the WHERE clause",
                text=self.text,
                pos=self.current.pos,
            )
        try:
            if self.accept("NOT"):
                return Not(self.unary())
            if self.current.kind == "(":
                self.advance()
                inner = self.condition()
                self.expect(")")
                return inner
            return self.comparison()
        finally:
            self.depth -= 1

    def comparison(self) -> Condition:
        token = self.current
        if token.kind == "ident" and self.peek().kind == "(":
            raise self.unsupported(f"The function {token.text}()", token)
        field = self.field_ref()
        operator = self.current
        if operator.kind == "op":
            self.advance()
            return Comparison(field=field, operator=operator.text, value=self.value())
        if self.accept("LIKE"):
            value = self.value()
            if value.kind != "string":
                raise self.unexpected(self.tokens[self.index - 1])
            return Comparison(field=field, operator="LIKE", value=value)
        if self.at("INCLUDES", "EXCLUDES"):
            raise self.unsupported(operator.upper, operator)
        negated = self.accept("NOT")
        if not self.accept("IN"):
            raise self.unexpected()
        self.expect("(")
        if self.at("SELECT"):
            query = self.query(nested=True)
            self.expect(")")
            return SemiJoin(field=field, negated=negated, query=query)
        values = [self.value()]
        while self.current.kind == ",":
            self.advance()
            values.append(self.value())
        self.expect(")")
        return InList(field=field, negated=negated, values=tuple(values))

    def value(self) -> Value:
        token = self.current
        if token.kind in ("string", "number", "date", "datetime"):
            self.advance()
            return Value(token.kind, token.value, token.text, token.pos, token.like)  # type: ignore[arg-type]
        if token.kind == ":":
            raise malformed(
                "Bind variables are only allowed in Apex code", text=self.text, pos=token.pos
            )
        if token.upper in ("TRUE", "FALSE"):
            self.advance()
            return Value("boolean", token.upper == "TRUE", token.text, token.pos)
        if token.upper == "NULL":
            self.advance()
            return Value("null", None, token.text, token.pos)
        if token.upper in RELATIVE_DATES:
            return self.relative_date()
        raise self.unexpected()

    def relative_date(self) -> Value:
        token = self.advance()
        takes_n = RELATIVE_DATES[token.upper]
        n = None
        if takes_n:
            self.expect(":")
            number = self.current
            if number.kind != "number" or not isinstance(number.value, int) or number.value < 0:
                raise self.unexpected()
            n = self.advance().value
        elif self.current.kind == ":":
            raise self.unexpected()
        relative = RelativeDate(name=token.upper, n=n)  # type: ignore[arg-type]
        end = self.tokens[self.index - 1]
        literal = self.text[token.pos : end.pos + len(end.text)]
        return Value("relative", relative, literal, token.pos)

    # ---- ORDER BY ----------------------------------------------------------------------------
    def order_by(self) -> tuple[OrderItem, ...]:
        if not self.at("ORDER"):
            return ()
        self.advance()
        self.expect("BY")
        items = []
        while True:
            token = self.current
            if token.kind == "ident" and self.peek().kind == "(":
                raise self.unsupported(f"ORDER BY {token.text}()", token)
            field = self.field_ref()
            descending = self.at("DESC")
            if self.at("ASC", "DESC"):
                self.advance()
            nulls_last = descending
            if self.accept("NULLS"):
                if not self.at("FIRST", "LAST"):
                    raise self.unexpected()
                nulls_last = self.advance().upper == "LAST"
            items.append(OrderItem(field=field, descending=descending, nulls_last=nulls_last))
            if self.current.kind != ",":
                return tuple(items)
            self.advance()
