"""Text-to-SQL rewards: execution accuracy, syntax, schema linking and n-gram similarity.

Paper: Reasoning-SQL: Reinforcement Learning with SQL Tailored Partial Rewards for
Reasoning-Enhanced Text-to-SQL (Pourreza, Talaei et al., arXiv 2503.23157). Its AI-feedback
(LLM judge) term is not here; its format term is ``format.*``.

The predicted SQL is the last fenced ```` ```sql ```` block, else the last ``<answer>``
block, else the whole completion. The reference is a dict::

    {"sql": GOLD_SQL, "db": "path/to.sqlite"}                       # a SQLite file
    {"sql": GOLD_SQL, "db": "path/to.duckdb", "engine": "duckdb"}   # a DuckDB file
    {"sql": GOLD_SQL, "schema": DDL, "rows": {"t": [[1, "a"], ...]}}  # inline database

An inline database is SQLite unless ``"engine": "duckdb"`` is given. Any other
reference, a missing database, or a gold query that fails is an item error
(``value`` None, ``status`` error): not the completion's fault.

What each checks (all in [0, 1]):

- ``sql.execution``: 1 if the predicted query's rows equal the gold query's rows, else 0.
  Rows are compared as a multiset (``Counter`` of tuples; column names ignored, column
  order kept), or as a list when the gold query has a top-level ``ORDER BY`` and
  ``respect_order`` is on. Values are normalised first: floats rounded to
  ``float_digits`` places, ``Decimal`` as float, NaN equal to NaN, ``None`` kept as NULL,
  booleans as 0/1. A predicted query that errors, is not one read statement, or returns
  more than ``max_rows`` rows earns 0 with the reason in ``info``; one past ``timeout``
  earns 0 with ``status`` timeout.
- ``sql.syntax``: 1 if the predicted SQL is one statement sqlglot parses in the
  reference's dialect and, when the reference names a database, that compiles there
  (``EXPLAIN``: name resolution and types, without running it). Else 0.
- ``sql.schema_linking``: Jaccard similarity of the sets of tables and columns used by
  the predicted and gold queries (sqlglot ``Table``/``Column`` nodes, lowercased; per
  query scope, aliases resolve to table names and an unqualified column in a one-table
  scope to that table), as ``table:t`` and ``column:t.c`` items. Needs no database.
- ``sql.ngram``: Jaccard similarity of the sets of token n-grams (``n`` = 2 by default;
  the paper gives no n) of the two queries, tokenised by sqlglot with keywords
  uppercased and unquoted identifiers lowercased. Needs no database.

What is protected (see ``database``, ``inline`` and ``duck``): queries run read-only (a
model's ``DROP TABLE``, ``DELETE``, ``UPDATE`` or ``ATTACH`` fails and leaves the data as
it was), one statement only, with a time limit and a row cap, and without access to host
files. An inline ``schema`` may only create tables, indexes and views and insert rows
(anything else is a reference error naming it). A ``db`` path must lie under a root the
operator names (``--sql-root``, ``$REWARDSMITH_SQL_ROOTS``; by default the working
directory, and none over HTTP). DuckDB runs in killable worker processes with a memory
cap, so a runaway query ends about half a second past its timeout. Not protected: the CPU
time a query uses within the limit, and memory inside one SQLite query (SQLite runs in
the scoring process); wrap the reward in ``Isolated`` for a hard process boundary.

Known failure modes:

- Execution accuracy has false positives: a wrong query that happens to return the
  gold rows on this database (a missing filter no row would fail, ``LIMIT 1`` on a
  one-row answer). Spider's test-suite accuracy (several databases) is the remedy.
- Order sensitivity follows the gold query's ``ORDER BY``: ties in the sort key let two
  correct queries return different orders, and such a query earns 0.
- Column order matters and column names do not: ``SELECT b, a`` against ``SELECT a, b``
  earns 0; ``SELECT a AS x`` against ``SELECT a`` earns 1.
- Floats that straddle a rounding boundary at ``float_digits`` compare unequal.
- The predicted query must parse with sqlglot: SQL that the engine accepts but sqlglot
  does not earns 0 on every term.
- Schema linking without a database schema cannot tell the table of an unqualified
  column in a join; such a column counts by its bare name.

How each is gamed: execution accuracy only through the false positives above. Syntax is
gamed by any valid query (``SELECT 1`` earns 1). Schema linking is gamed by mentioning
every table and column the question suggests, and n-grams by SQL that looks like the
gold without computing the same thing. Keep execution accuracy dominant (the
``text2sql`` spec weights it 1.0 against 0.1 for each partial term).
"""

from rewardsmith.verifiable.sql.database import (
    QueryResult,
    SqlReference,
    parse_reference,
    run_query,
)
from rewardsmith.verifiable.sql.extract import predicted_sql
from rewardsmith.verifiable.sql.rewards import (
    REASONING_SQL,
    ExecutionParams,
    NgramParams,
    QueryLimits,
    jaccard,
    normalize_rows,
    results_match,
)

__all__ = [
    "REASONING_SQL",
    "ExecutionParams",
    "NgramParams",
    "QueryLimits",
    "QueryResult",
    "SqlReference",
    "jaccard",
    "normalize_rows",
    "parse_reference",
    "predicted_sql",
    "results_match",
    "run_query",
]
