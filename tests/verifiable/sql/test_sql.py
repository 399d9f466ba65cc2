"""Text-to-SQL rewards on real databases: a SQLite file and the same data in DuckDB.

Cases are grouped by phenomenon: equivalent queries written differently, wrong results,
ORDER BY, extraction, destructive statements, limits (time, rows), inline databases and
unusable references, then hypothesis properties.
"""

from __future__ import annotations

import math
import sqlite3
import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rewardsmith
from rewardsmith.core import Sample, Status
from rewardsmith.verifiable.sql import parse_reference, predicted_sql, results_match, run_query

duckdb = pytest.importorskip("duckdb")

SCHEMA = """
CREATE TABLE dept (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE emp (id INTEGER PRIMARY KEY, name TEXT, dept_id INTEGER, salary DOUBLE);
"""
ROWS = {
    "dept": [[1, "Research"], [2, "Sales"], [3, "Legal"]],
    "emp": [
        [1, "Ada", 1, 120.0],
        [2, "Bob", 2, 80.5],
        [3, "Cy", 1, 95.25],
        [4, "Di", 2, 60.0],
        [5, "Eve", None, 70.0],
    ],
}
ENGINES = ["sqlite", "duckdb"]


def _fill(conn) -> None:
    for statement in filter(str.strip, SCHEMA.split(";")):
        conn.execute(statement)
    for table, rows in ROWS.items():
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


@pytest.fixture(autouse=True)
def sql_roots(monkeypatch, tmp_path_factory):
    """The database files here live under pytest's temporary folder: make it the root."""
    monkeypatch.setenv("REWARDSMITH_SQL_ROOTS", str(tmp_path_factory.getbasetemp()))


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    root = tmp_path_factory.mktemp("sql")
    paths = {"sqlite": str(root / "company.sqlite"), "duckdb": str(root / "company.duckdb")}
    conn = sqlite3.connect(paths["sqlite"])
    _fill(conn)
    conn.commit()
    conn.close()
    dconn = duckdb.connect(paths["duckdb"])
    _fill(dconn)
    dconn.close()
    return paths


def ref(dbs, engine: str, gold: str) -> dict:
    return {"sql": gold, "db": dbs[engine], "engine": engine}


def count_rows(dbs, engine: str, table: str) -> int:
    """Rows in ``table``, read through a fresh connection of our own."""
    if engine == "sqlite":
        conn = sqlite3.connect(dbs["sqlite"])
        try:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        finally:
            conn.close()
    dconn = duckdb.connect(dbs["duckdb"], read_only=True)
    try:
        return dconn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        dconn.close()


def score(name: str, completion: str, reference, **params):
    return rewardsmith.load(name, **params).score(
        [Sample(completion=completion, reference=reference)]
    )[0]


def fence(sql: str) -> str:
    return f"Let me think.\n```sql\n{sql}\n```"


# sql.execution -----------------------------------------------------------------------

JOIN_GOLD = "SELECT e.name FROM emp e JOIN dept d ON e.dept_id = d.id WHERE d.name = 'Research'"
EXECUTION_CASES = [
    (
        JOIN_GOLD,
        "SELECT name FROM emp WHERE dept_id IN (SELECT id FROM dept WHERE name = 'Research')",
        1.0,
    ),
    (
        JOIN_GOLD,
        "select EMP.NAME from EMP, DEPT where EMP.DEPT_ID = DEPT.ID and DEPT.NAME = 'Research';",
        1.0,
    ),
    (JOIN_GOLD, "SELECT e.name AS who FROM emp e WHERE e.dept_id = 1", 1.0),
    (JOIN_GOLD, "SELECT name FROM emp WHERE dept_id = 2", 0.0),
    (JOIN_GOLD, "SELECT name FROM emp", 0.0),
    (JOIN_GOLD, "SELECT name, id FROM emp WHERE dept_id = 1", 0.0),
    (
        "SELECT name FROM emp WHERE salary > 90",
        "SELECT name FROM emp WHERE salary > 90 ORDER BY name DESC",
        1.0,
    ),
    (
        "SELECT name FROM emp WHERE salary > 90 ORDER BY salary DESC",
        "SELECT name FROM emp WHERE salary > 90 ORDER BY salary",
        0.0,
    ),
    (
        "SELECT name FROM emp WHERE salary > 90 ORDER BY salary DESC",
        "SELECT name FROM emp WHERE salary >= 95 ORDER BY 1",
        1.0,
    ),
    ("SELECT avg(salary) FROM emp", "SELECT sum(salary) / count(*) FROM emp", 1.0),
    (
        "SELECT dept_id, count(*) FROM emp GROUP BY dept_id",
        "SELECT dept_id, count(id) FROM emp GROUP BY 1",
        1.0,
    ),
    ("SELECT DISTINCT dept_id FROM emp", "SELECT dept_id FROM emp", 0.0),
    (
        "SELECT name FROM emp WHERE dept_id IS NULL",
        "SELECT name FROM emp WHERE dept_id = NULL",
        0.0,
    ),
]
EXECUTION_IDS = [
    "join-vs-subquery",
    "implicit-join-other-case",
    "alias-renamed-column",
    "wrong-filter",
    "missing-filter",
    "extra-column",
    "no-gold-order-any-order",
    "gold-order-wrong-direction",
    "gold-order-right-order",
    "avg-vs-sum-over-count",
    "group-by-ordinal",
    "missing-distinct-multiset",
    "null-comparison",
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("gold", "pred", "expected"), EXECUTION_CASES, ids=EXECUTION_IDS)
def test_execution_hand_worked(dbs, engine, gold, pred, expected):
    s = score("sql.execution", fence(pred), ref(dbs, engine, gold))
    assert s.status is Status.OK, s
    assert s.value == expected, s.info


def test_order_is_ignored_when_respect_order_is_off(dbs):
    gold = "SELECT name FROM emp WHERE salary > 90 ORDER BY salary DESC"
    pred = fence("SELECT name FROM emp WHERE salary > 90 ORDER BY salary")
    assert score("sql.execution", pred, ref(dbs, "sqlite", gold), respect_order=False).value == 1.0


MALFORMED = [
    ("", "no SQL"),
    ("   \n ", "no SQL"),
    ("The answer is Ada.", "does not parse"),
    ("Ada", "not a read query"),
    (fence("SELECT name FROM emp WHERE"), "does not parse"),
    (fence("SELEC name FRM emp"), ""),
    (fence("SELECT 1; SELECT name FROM emp"), "2 statements"),
    (fence("SELECT nope FROM emp"), "nope"),
    (fence("SELECT name FROM missing_table"), "missing_table"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("completion", "reason"),
    MALFORMED,
    ids=[
        "empty",
        "blank",
        "prose",
        "bare-word",
        "truncated",
        "misspelt",
        "two-statements",
        "bad-column",
        "bad-table",
    ],
)
def test_execution_malformed_completions_earn_zero_with_a_reason(dbs, engine, completion, reason):
    s = score("sql.execution", completion, ref(dbs, engine, "SELECT name FROM emp"))
    assert (s.value, s.status) == (0.0, Status.OK)
    assert reason.lower() in s.info["reason"].lower()


# Extraction --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("```sql\nSELECT 1\n```", "SELECT 1"),
        ("```sql\nSELECT 1\n```\nthen\n```SQL\nSELECT 2;\n```", "SELECT 2;"),
        ("```sql\nSELECT 1\n```\n```sql\nSELECT 2", "SELECT 1"),
        ("```sqlite\nSELECT 3\n```", "SELECT 3"),
        ("```sql SELECT 4```", "SELECT 4"),
        ("<think>x</think><answer> SELECT 5 </answer>", "SELECT 5"),
        ("<answer>```sql\nSELECT 6\n```</answer>", "SELECT 6"),
        ("SELECT 7", "SELECT 7"),
        ("", None),
        ("<answer> </answer>", None),
    ],
    ids=[
        "fence",
        "last-fence",
        "unclosed-last-fence",
        "info-string",
        "one-line",
        "answer-tag",
        "fence-in-answer",
        "whole-text",
        "empty",
        "empty-answer",
    ],
)
def test_predicted_sql(text, expected):
    assert predicted_sql(text) == expected


def test_extraction_is_linear_on_many_unclosed_fences():
    text = "```sql\n" * 20_000
    start = time.perf_counter()
    assert predicted_sql(text) == text.strip()
    assert time.perf_counter() - start < 1.0


# Safety: destructive statements, time limit, row cap --------------------------------

DESTRUCTIVE = [
    "DROP TABLE emp",
    "DELETE FROM emp",
    "UPDATE emp SET salary = 0",
    "INSERT INTO emp VALUES (9, 'Zed', 1, 1.0)",
    "ATTACH '{tmp}/evil.db' AS evil",
    "CREATE TABLE t2 AS SELECT * FROM emp",
    "PRAGMA query_only = OFF",
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("statement", DESTRUCTIVE, ids=lambda s: s.split()[0].lower())
def test_destructive_statements_leave_the_data_intact(dbs, tmp_path, engine, statement):
    statement = statement.format(tmp=tmp_path)
    reference = ref(dbs, engine, "SELECT count(*) FROM emp")
    for name in ("sql.execution", "sql.syntax"):
        s = score(name, fence(statement), reference)
        assert (s.value, s.status) == (0.0, Status.OK)
    # Past the sqlglot check too: the connection itself refuses to write.
    result = run_query(parse_reference(reference), statement, timeout=2.0, max_rows=10)
    if engine == "sqlite" or not statement.startswith("PRAGMA"):
        assert result.status == "error", result
    assert count_rows(dbs, engine, "emp") == len(ROWS["emp"])
    assert count_rows(dbs, engine, "dept") == len(ROWS["dept"])
    assert not (tmp_path / "evil.db").exists()


def test_duckdb_cannot_read_files(dbs, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    result = run_query(
        parse_reference(ref(dbs, "duckdb", "SELECT 1")),
        f"SELECT * FROM read_csv('{secret}')",
        timeout=2.0,
        max_rows=10,
    )
    assert result.status == "error"


SLOW = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000) "
    "SELECT count(*) FROM c"
)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_slow_query_is_cut_off(dbs, engine):
    start = time.monotonic()
    s = score(
        "sql.execution", fence(SLOW), ref(dbs, engine, "SELECT count(*) FROM emp"), timeout=0.5
    )
    elapsed = time.monotonic() - start
    assert s.status is Status.TIMEOUT and s.value == 0.0
    assert "0.5s" in s.info["reason"]
    assert elapsed < 15.0  # hang guard; in practice about the 0.5 s limit


def test_a_slow_gold_query_is_an_error_not_a_wrong_answer(dbs):
    s = score("sql.execution", fence("SELECT 1"), ref(dbs, "sqlite", SLOW), timeout=0.3)
    assert s.value is None and s.status is Status.ERROR
    assert "timeout" in s.error.message


@pytest.mark.parametrize("engine", ENGINES)
def test_row_cap(dbs, engine):
    reference = ref(dbs, engine, "SELECT name FROM emp WHERE id = 1")
    s = score("sql.execution", fence("SELECT name FROM emp"), reference, max_rows=3)
    assert (s.value, s.status) == (0.0, Status.OK)
    assert "more than 3 rows" in s.info["reason"]
    gold_too_big = ref(dbs, engine, "SELECT name FROM emp")
    s = score("sql.execution", fence("SELECT name FROM emp"), gold_too_big, max_rows=3)
    assert s.value is None and s.status is Status.ERROR


# Inline databases and unusable references --------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_inline_database(engine):
    reference = {"sql": JOIN_GOLD, "schema": SCHEMA, "rows": ROWS, "engine": engine}
    good = fence("SELECT name FROM emp WHERE dept_id = 1")
    assert score("sql.execution", good, reference).value == 1.0
    assert score("sql.execution", fence("DROP TABLE emp"), reference).value == 0.0
    assert score("sql.execution", good, reference).value == 1.0
    assert parse_reference(reference).path == parse_reference(dict(reference)).path  # built once


BAD_REFERENCES = [
    None,
    "SELECT 1",
    ["SELECT 1"],
    {"db": "x.sqlite"},
    {"sql": "SELECT 1", "db": "/nonexistent/x.sqlite"},
    {"sql": "SELECT 1"},
    {"sql": "SELECT 1", "schema": "CREATE TABLE ("},
    {"sql": "SELECT 1", "schema": "CREATE TABLE t(a INT)", "rows": {"t": "nope"}},
    {"sql": "SELECT 1", "schema": "CREATE TABLE t(a INT)", "engine": "oracle"},
    {"sql": "SELECT nope FROM t", "schema": "CREATE TABLE t(a INT)", "rows": {"t": [[1]]}},
    {"sql": "", "schema": "CREATE TABLE t(a INT)"},
]


@pytest.mark.parametrize(
    "reference",
    BAD_REFERENCES,
    ids=[
        "none",
        "string",
        "list",
        "no-sql",
        "missing-file",
        "no-database",
        "bad-ddl",
        "bad-rows",
        "bad-engine",
        "gold-errors",
        "empty-gold",
    ],
)
def test_an_unusable_reference_is_an_error(reference):
    s = score("sql.execution", fence("SELECT 1"), reference)
    assert s.value is None and s.status is Status.ERROR and s.error is not None


def test_a_corrupt_database_file_is_an_error(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    s = score("sql.execution", fence("SELECT 1"), {"sql": "SELECT 1", "db": str(path)})
    assert s.status is Status.ERROR


# sql.syntax --------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        ("SELECT name FROM emp WHERE salary > 1", 1.0),
        ("SELECT 1", 1.0),
        ("WITH x AS (SELECT id FROM dept) SELECT * FROM x", 1.0),
        ("SELECT nope FROM emp", 0.0),
        ("SELECT name FROM missing_table", 0.0),
        ("SELECT name FROM emp WHERE", 0.0),
        ("DROP TABLE emp", 0.0),
    ],
    ids=["valid", "constant", "cte", "unknown-column", "unknown-table", "truncated", "drop"],
)
def test_syntax(dbs, engine, pred, expected):
    s = score("sql.syntax", fence(pred), ref(dbs, engine, "SELECT 1"))
    assert (s.value, s.status) == (expected, Status.OK)


def test_syntax_without_a_database_only_parses():
    s = score("sql.syntax", fence("SELECT nope FROM nowhere"), {"sql": "SELECT 1"})
    assert s.value == 1.0 and s.info["checked"] == "parse"


# sql.schema_linking ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "pred", "expected"),
    [
        (
            JOIN_GOLD,
            "SELECT name FROM emp WHERE dept_id IN (SELECT id FROM dept WHERE name = 'Research')",
            1.0,
        ),
        ("SELECT e.name FROM emp AS e", "SELECT EMP.NAME FROM EMP", 1.0),
        # gold {emp, emp.name, emp.salary}; pred {emp, emp.name}
        ("SELECT name FROM emp WHERE salary > 10", "SELECT name FROM emp", 2 / 3),
        ("SELECT name FROM emp", "SELECT id FROM dept", 0.0),
        # gold {emp, emp.name}; pred {emp, dept, emp.name, dept.id, emp.dept_id}
        ("SELECT name FROM emp", "SELECT e.name FROM emp e JOIN dept d ON d.id = e.dept_id", 2 / 5),
        ("SELECT name FROM emp", "nonsense ((", 0.0),
    ],
    ids=[
        "join-vs-subquery",
        "alias-and-case",
        "missing-column",
        "disjoint",
        "extra-join",
        "broken",
    ],
)
def test_schema_linking(gold, pred, expected):
    s = score("sql.schema_linking", fence(pred), {"sql": gold})
    assert s.status is Status.OK
    assert s.value == pytest.approx(expected), s.info


# sql.ngram ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pred", "n", "expected"),
    [
        ("SELECT a FROM t", 2, 1.0),
        ("select A from T", 2, 1.0),
        # bigrams {(SELECT,b),(b,FROM),(FROM,t)} vs {(SELECT,a),(a,FROM),(FROM,t)}: 1 / 5
        ("SELECT b FROM t", 2, 1 / 5),
        ("SELECT b FROM t", 1, 3 / 5),
        ("SELECT 'a' FROM t", 1, 3 / 5),
        ("SELECT 'a FROM t", 2, 0.0),
        ("", 2, 0.0),
    ],
    ids=[
        "same",
        "keyword-case",
        "one-word-differs",
        "unigrams",
        "string-is-not-column",
        "unterminated-string",
        "empty",
    ],
)
def test_ngram(pred, n, expected):
    s = score("sql.ngram", fence(pred) if pred else "", {"sql": "SELECT a FROM t"}, n=n)
    assert s.status is Status.OK
    assert s.value == pytest.approx(expected)


# Comparison semantics ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pred", "gold", "ordered", "expected"),
    [
        ([(1,), (2,)], [(2,), (1,)], False, True),
        ([(1,), (2,)], [(2,), (1,)], True, False),
        ([(1,), (1,)], [(1,)], False, False),
        ([(0.1 + 0.2,)], [(0.3,)], False, True),
        ([(0.30001,)], [(0.3,)], False, False),
        ([(Decimal("2.50"),)], [(2.5,)], False, True),
        ([(1,)], [(1.0,)], False, True),
        ([(None,)], [(None,)], False, True),
        ([(None,)], [(0,)], False, False),
        ([(math.nan,)], [(math.nan,)], False, True),
        ([("1",)], [(1,)], False, False),
        ([(1, 2)], [(2, 1)], False, False),
        ([], [], True, True),
    ],
    ids=[
        "multiset",
        "ordered",
        "duplicates-count",
        "float-noise",
        "float-difference",
        "decimal",
        "int-vs-float",
        "null",
        "null-vs-zero",
        "nan",
        "text-vs-int",
        "column-order",
        "empty",
    ],
)
def test_results_match(pred, gold, ordered, expected):
    assert results_match(pred, gold, ordered=ordered) is expected


# Properties --------------------------------------------------------------------------

INLINE = {"sql": "SELECT name FROM emp WHERE salary > 90", "schema": SCHEMA, "rows": ROWS}
fragments = st.sampled_from(
    [
        "```sql\n",
        "```",
        "<answer>",
        "</answer>",
        "SELECT ",
        "name ",
        "FROM ",
        "emp ",
        "WHERE ",
        "salary > 90",
        ";",
        "DROP TABLE emp",
        "'",
        "(",
        ")",
        "\n",
        "*",
    ]
)
texts = st.one_of(st.text(max_size=120), st.lists(fragments, max_size=20).map("".join))


@pytest.mark.parametrize("name", ["sql.execution", "sql.syntax", "sql.schema_linking", "sql.ngram"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_arbitrary_completions_never_raise_and_stay_in_range(name, text):
    reward = rewardsmith.load(name)
    s = reward.score([Sample(completion=text, reference=INLINE)])[0]
    assert s.status in (Status.OK, Status.TIMEOUT), s
    assert s.value is not None and 0.0 <= s.value <= 1.0
    assert reward.score([Sample(completion=text, reference=INLINE)])[0] == s


def test_catalog_lists_the_four_rewards_with_the_paper():
    entries = {e.name: e for e in rewardsmith.core.catalog("reward")}
    for name in ("sql.execution", "sql.syntax", "sql.schema_linking", "sql.ngram"):
        assert entries[name].paper is not None and entries[name].paper.arxiv == "2503.23157"
        assert entries[name].range == (0.0, 1.0)


def test_text2sql_spec_scores_the_example_rollouts():
    import json
    from pathlib import Path

    from rewardsmith import load_spec

    path = Path(__file__).resolve().parents[3] / "examples" / "sql_rollouts.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    samples = [Sample(completion=r["completion"], reference=r["reference"]) for r in rows]
    for spec in ("text2sql", str(path.parent / "text2sql.yaml")):
        out = load_spec(spec).score(samples)
        by_kind = {r["kind"]: s for r, s in zip(rows, out, strict=True)}
        assert all(s.status is Status.OK for s in out)
        assert by_kind["correct"].parts["sql.execution" if spec == "text2sql" else "ex"] == 1.0
        assert by_kind["destructive"].value == 0.0
        assert by_kind["correct_subquery"].value > by_kind["wrong_order"].value


@pytest.mark.parametrize("engine", ENGINES)
def test_a_result_too_large_in_bytes_is_cut_off(dbs, engine, monkeypatch):
    from rewardsmith.verifiable.sql import database

    monkeypatch.setattr(database, "MAX_RESULT_BYTES", 1000)
    reference = ref(dbs, engine, "SELECT 1")
    s = score("sql.execution", fence(f"SELECT name || '{'x' * 600}' FROM emp"), reference)
    assert (s.value, s.status) == (0.0, Status.OK)
    assert "bytes" in s.info["reason"]


@pytest.mark.parametrize("engine", ENGINES)
def test_pickles_and_runs_in_threads(dbs, engine):
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    from rewardsmith.runtime import Threaded

    reward = rewardsmith.load("sql.execution")
    reference = ref(dbs, engine, JOIN_GOLD)
    batch = [
        Sample(completion=fence(pred), reference=reference)
        for pred, _ in zip(
            ["SELECT name FROM emp WHERE dept_id = 1", "SELECT name FROM emp"] * 8,
            range(16),
            strict=True,
        )
    ]
    expected = reward.score(batch)
    assert [s.value for s in expected] == [1.0, 0.0] * 8
    assert pickle.loads(pickle.dumps(reward)).score(batch) == expected
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda s: reward.score([s])[0], batch)) == expected
    assert Threaded(reward, threads=4).score(batch) == expected


def test_a_missing_sqlglot_names_the_extra(monkeypatch):
    import sys

    from rewardsmith.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "sqlglot", None)
    with pytest.raises(MissingExtraError, match=r"rewardsmith\[sql\]"):
        rewardsmith.load("sql.ngram")
