"""What sqlglot tells us about a query: one statement or not, ORDER BY, schema items, tokens.

sqlglot is imported inside these functions (the ``[sql]`` extra); a missing package
raises ``MissingExtraError``.
"""

from __future__ import annotations

import re
from typing import Any

from rewardsmith.errors import MissingExtraError

__all__ = [
    "Rejected",
    "has_top_level_order",
    "ngrams",
    "parse_statement",
    "require_sqlglot",
    "schema_items",
    "sql_tokens",
]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _message(exc: Exception) -> str:
    """An exception's message without sqlglot's terminal underlining, at most 200 chars."""
    return _ANSI.sub("", str(exc))[:200]


class Rejected(ValueError):
    """The predicted SQL is not one parsable read query; the message says why."""


def require_sqlglot() -> Any:
    """The sqlglot module, or MissingExtraError naming the extra to install."""
    try:
        import sqlglot
    except ImportError:
        raise MissingExtraError("sqlglot", "sql") from None
    return sqlglot


def parse_statement(sql: str, dialect: str, *, query_only: bool = True) -> Any:
    """The one statement in ``sql`` as a sqlglot expression; Rejected if not exactly one.

    Args:
        sql: the text to parse.
        dialect: ``sqlite`` or ``duckdb``.
        query_only: reject statements that are not queries (``SELECT``, set operations).
    """
    sqlglot = require_sqlglot()
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except Exception as exc:  # ParseError, TokenError, RecursionError on deep nesting
        raise Rejected(f"does not parse: {_message(exc)}") from None
    if not statements:
        raise Rejected("no SQL statement")
    if len(statements) > 1:
        raise Rejected(f"{len(statements)} statements; only one is allowed")
    statement = statements[0]
    if query_only and not isinstance(statement, exp.Query):
        raise Rejected(f"not a read query ({type(statement).__name__})")
    return statement


def has_top_level_order(statement: Any) -> bool:
    """True when the outermost query sorts its result (``ORDER BY`` outside subqueries)."""
    return statement.args.get("order") is not None


def schema_items(statement: Any) -> set[str]:
    """The tables and columns a statement uses: ``table:t`` and ``column:t.c`` (lowercase).

    Columns are resolved scope by scope (each SELECT, subquery and CTE body): a qualifier
    that is an alias becomes its table's name, and an unqualified column in a scope that
    reads one table belongs to it. A column whose table cannot be told without the
    database schema (unqualified, in a join) is ``column:c``. CTE names are not tables.
    """
    require_sqlglot()
    from sqlglot import exp

    ctes = {c.alias_or_name.lower() for c in statement.find_all(exp.CTE)}
    tables: set[str] = set()
    aliases: dict[str, str] = {}
    for table in statement.find_all(exp.Table):
        name = table.name.lower()
        if name and name not in ctes:
            tables.add(name)
            aliases[table.alias_or_name.lower()] = name
    try:
        columns = _scoped_columns(statement, aliases)
    except Exception:  # sqlglot cannot build scopes: resolve against the whole statement
        only = {"": next(iter(tables))} if len(tables) == 1 else {}
        columns = {_column_item(c, {**aliases, **only}) for c in statement.find_all(exp.Column)}
    columns.discard(None)
    return {f"table:{t}" for t in tables} | {f"column:{c}" for c in columns}


def _scoped_columns(statement: Any, aliases: dict[str, str]) -> set[str | None]:
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    out: set[str | None] = set()
    seen: set[int] = set()
    # Innermost scopes come first. Without a schema sqlglot also lists a subquery's
    # unqualified columns in the outer scope (they might be correlated); the innermost
    # scope, where they almost always belong, claims them.
    for scope in traverse_scope(statement):
        local = {
            alias.lower(): source.name.lower()
            for alias, source in scope.sources.items()
            if isinstance(source, exp.Table)
        }
        if len(scope.sources) == 1 and len(local) == 1:
            local[""] = next(iter(local.values()))
        owners = {**aliases, **local}
        for column in scope.columns:
            if id(column) not in seen:
                seen.add(id(column))
                out.add(_column_item(column, owners))
    return out


def _column_item(column: Any, owners: dict[str, str]) -> str | None:
    name = column.name.lower()
    if not name or name == "*":
        return None
    qualifier = column.table.lower()
    owner = owners.get(qualifier, qualifier)
    return f"{owner}.{name}" if owner else name


def sql_tokens(sql: str, dialect: str) -> list[str]:
    """sqlglot tokens, keywords and symbols uppercased, unquoted identifiers lowercased.

    String literals keep their quotes so ``'a'`` and the column ``a`` differ. Raises
    Rejected when the text cannot be tokenised (an unterminated string).
    """
    require_sqlglot()
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect

    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except Exception as exc:
        raise Rejected(f"cannot be tokenised: {_message(exc)}") from None
    out = []
    for tok in tokens:
        if tok.token_type == TokenType.VAR:
            out.append(tok.text.lower())
        elif tok.token_type == TokenType.STRING:
            out.append(f"'{tok.text}'")
        elif tok.token_type == TokenType.IDENTIFIER:
            out.append(f'"{tok.text}"')
        else:
            out.append(tok.text.upper())
    return out


def ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    """The set of token n-grams; a sequence shorter than ``n`` is its own single gram."""
    if len(tokens) < n:
        return {tuple(tokens)} if tokens else set()
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
