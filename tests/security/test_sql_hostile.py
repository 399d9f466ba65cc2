"""Hostile SQL references and queries against the real SQLite and DuckDB engines.

Threat model: a reference (``{"sql", "db" | "schema", "rows"}``) can come from any client
of ``rewardsmith serve``, and the predicted query from the policy being trained. Neither
may write or read host files, open databases outside the operator's ``--sql-root``,
leak file contents through ``info``, outrun the time limit or blow up the scoring
process's memory, nor leave temporary copies of databases behind after SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import rewardsmith
from rewardsmith.core import Sample, Status
from rewardsmith.verifiable.sql import parse_reference

duckdb = pytest.importorskip("duckdb")

SECRET = "TOPSECRET-7f3a9c"
ROOTS_ENV = "REWARDSMITH_SQL_ROOTS"


def score(name: str, completion: str, reference, **params):
    return rewardsmith.load(name, **params).score(
        [Sample(completion=completion, reference=reference)]
    )[0]


def fence(sql: str) -> str:
    return f"```sql\n{sql}\n```"


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(f"{SECRET}\n{SECRET}\n")
    return path


# 1. Inline schemas run with the predicted query's restrictions -------------------------

# (schema, file the attack would create or None, word the refusal must name)
SQLITE_SCHEMAS = {
    "attach": (
        "ATTACH DATABASE '{tmp}/attached.db' AS x; CREATE TABLE x.t(a INT);",
        "attached.db",
        "ATTACH",
    ),
    "vacuum-into": (
        "CREATE TABLE t(a INT); VACUUM INTO '{tmp}/vacuumed.db';",
        "vacuumed.db",
        "ATTACH",
    ),
    "pragma": ("CREATE TABLE t(a INT); PRAGMA user_version = 7;", None, "PRAGMA"),
    "trigger": (
        "CREATE TABLE t(a INT); CREATE TABLE u(b INT); "
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES (1); END;",
        None,
        "TRIGGER",
    ),
    "load-extension": (
        "CREATE TABLE t(a INT); SELECT load_extension('{tmp}/evil');",
        None,
        "load_extension",
    ),
    "delete": ("CREATE TABLE t(a INT); INSERT INTO t VALUES (1); DELETE FROM t;", None, "DELETE"),
    "drop": ("CREATE TABLE t(a INT); DROP TABLE t; CREATE TABLE t(a INT);", None, "DROP"),
}

DUCKDB_SCHEMAS = {
    "copy-to": (
        "CREATE TABLE t(a INT); COPY (SELECT 'pwn') TO '{tmp}/copied.csv';",
        "copied.csv",
        "COPY",
    ),
    "attach": (
        "ATTACH '{tmp}/attached.duckdb' AS x; CREATE TABLE t(a INT);",
        "attached.duckdb",
        "ATTACH",
    ),
    "export": ("CREATE TABLE t(a INT); EXPORT DATABASE '{tmp}/exported';", "exported", "EXPORT"),
    "import": ("IMPORT DATABASE '{tmp}';", None, "IMPORT"),
    "install": ("INSTALL httpfs; CREATE TABLE t(a INT);", None, "INSTALL"),
    "load": ("LOAD json; CREATE TABLE t(a INT);", None, "LOAD"),
    "set": ("SET threads = 8; CREATE TABLE t(a INT);", None, "SET"),
    "pragma": ("PRAGMA version; CREATE TABLE t(a INT);", None, "PRAGMA"),
    "call": ("CALL pragma_version(); CREATE TABLE t(a INT);", None, "CALL"),
    "secret": (
        "CREATE PERSISTENT SECRET s (TYPE s3, KEY_ID 'a', SECRET 'b'); CREATE TABLE t(a INT);",
        None,
        "SECRET",
    ),
    "macro": ("CREATE MACRO m(a) AS a; CREATE TABLE t(a INT);", None, "MACRO"),
    "nested-comment": ("CREATE /* a /* b */ TABLE */ MACRO m(a) AS a;", None, "MACRO"),
    "drop": ("CREATE TABLE t(a INT); DROP TABLE t; CREATE TABLE t(a INT);", None, "DROP"),
}


def _refused(reference, tmp_path, created, word):
    s = score("sql.execution", fence("SELECT 1"), reference)
    assert s.value is None and s.status is Status.ERROR, s
    assert s.error is not None and word.lower() in s.error.message.lower(), s.error
    if created is not None:
        assert not (tmp_path / created).exists()


@pytest.mark.parametrize("case", sorted(SQLITE_SCHEMAS))
def test_sqlite_inline_schema_allows_only_ddl_and_insert(tmp_path, case):
    schema, created, word = SQLITE_SCHEMAS[case]
    reference = {"sql": "SELECT 1", "schema": schema.format(tmp=tmp_path), "rows": {}}
    _refused(reference, tmp_path, created, word)


@pytest.mark.parametrize("case", sorted(DUCKDB_SCHEMAS))
def test_duckdb_inline_schema_allows_only_ddl_and_insert(tmp_path, case, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # where a persistent secret would be written
    schema, created, word = DUCKDB_SCHEMAS[case]
    reference = {"sql": "SELECT 1", "schema": schema.format(tmp=tmp_path), "engine": "duckdb"}
    _refused(reference, tmp_path, created, word)
    assert not (tmp_path / ".duckdb").exists()


FILE_READERS = [
    "CREATE TABLE t AS SELECT content AS c FROM read_text('{secret}')",
    "CREATE TABLE t AS SELECT * FROM read_csv('{secret}', header = false)",
    "CREATE TABLE t AS SELECT * FROM read_blob('{secret}')",
    "CREATE TABLE t AS SELECT * FROM glob('{dir}/*')",
    "CREATE TABLE t AS SELECT * FROM read_parquet('{dir}/x.parquet')",
    "CREATE VIEW v AS SELECT * FROM read_csv('{secret}')",
    "CREATE TABLE t(c VARCHAR); INSERT INTO t SELECT content FROM read_text('{secret}')",
]


@pytest.mark.parametrize("schema", FILE_READERS, ids=lambda s: s.split("FROM ")[-1][:12])
def test_duckdb_inline_schema_cannot_read_files(tmp_path, secret_file, schema):
    schema = schema.format(secret=secret_file, dir=tmp_path)
    # A gold query that fails on the file's text would quote it in the error message.
    reference = {"sql": "SELECT CAST(c AS INTEGER) FROM t", "schema": schema, "engine": "duckdb"}
    s = score("sql.execution", fence("SELECT c FROM t"), reference)
    assert s.value is None and s.status is Status.ERROR
    assert SECRET not in repr(s)


def test_sqlite_inline_schema_cannot_reach_files_through_views(tmp_path, secret_file):
    schema = f"ATTACH '{secret_file}' AS s; CREATE VIEW v AS SELECT * FROM s.sqlite_master;"
    s = score("sql.execution", fence("SELECT * FROM v"), {"sql": "SELECT 1", "schema": schema})
    assert s.value is None and s.status is Status.ERROR
    assert SECRET not in repr(s)


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_plain_ddl_and_inserts_still_build(engine):
    schema = """
        -- a comment
        CREATE TABLE dept (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE emp (id INTEGER, name TEXT, dept_id INTEGER REFERENCES dept(id));
        CREATE INDEX emp_dept ON emp(dept_id);
        CREATE UNIQUE INDEX dept_name ON dept(name);
        /* block */ INSERT INTO dept VALUES (1, 'R'), (2, 'S');
        INSERT INTO emp SELECT 1, 'Ada', 1;
        CREATE VIEW research AS
            SELECT e.name FROM emp e JOIN dept d ON e.dept_id = d.id WHERE d.name = 'R';
    """
    reference = {
        "sql": "SELECT name FROM research",
        "schema": schema,
        "rows": {"emp": [[2, "Bob", 2]]},
        "engine": engine,
    }
    assert score("sql.execution", fence("SELECT 'Ada'"), reference).value == 1.0
    assert score("sql.execution", fence("SELECT 'Bob'"), reference).value == 0.0


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_error_reasons_are_one_short_line(tmp_path, engine):
    long = "A" * 5000
    reference = {"sql": "SELECT 1", "schema": "CREATE TABLE t(a INT)", "engine": engine}
    completion = fence(f"SELECT CAST('{long}' || 'x' AS INTEGER) + nope FROM t")
    s = score("sql.execution", completion, reference)
    assert (s.value, s.status) == (0.0, Status.OK)
    reason = s.info["reason"]
    assert len(reason) <= 300 and "\n" not in reason, reason
    bad = {"sql": f"SELECT '{long}' + nope", "schema": "CREATE TABLE t(a INT)", "engine": engine}
    s = score("sql.execution", fence("SELECT 1"), bad)
    assert s.status is Status.ERROR and s.error is not None
    assert len(s.error.message) <= 400 and "\n" not in s.error.message, s.error.message


# 2. db: paths are confined to the operator's roots ------------------------------------


@pytest.fixture
def layout(tmp_path):
    """root/inside.sqlite, outside.sqlite, and a symlink in root pointing outside."""
    import sqlite3

    root = tmp_path / "root"
    root.mkdir()
    for path in (root / "inside.sqlite", tmp_path / "outside.sqlite"):
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t(a INT)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.commit()
        conn.close()
    (root / "link.sqlite").symlink_to(tmp_path / "outside.sqlite")
    return root


def _db(path) -> dict:
    return {"sql": "SELECT a FROM t", "db": str(path)}


def _paid(path) -> bool:
    s = score("sql.execution", fence("SELECT 1"), _db(path))
    return s.status is Status.OK and s.value == 1.0


def _refused_db(path) -> bool:
    s = score("sql.execution", fence("SELECT 1"), _db(path))
    return s.value is None and s.status is Status.ERROR and "root" in s.error.message


def test_db_paths_must_lie_under_a_named_root(layout, monkeypatch):
    monkeypatch.setenv(ROOTS_ENV, str(layout))
    assert _paid(layout / "inside.sqlite")
    assert _refused_db(layout.parent / "outside.sqlite")
    assert _refused_db(layout / ".." / "outside.sqlite")
    assert _refused_db(layout / "link.sqlite")  # a symlink out of the root
    assert _refused_db("/etc/passwd")
    other = layout.parent / "elsewhere"
    other.mkdir()
    monkeypatch.setenv(ROOTS_ENV, os.pathsep.join([str(other), str(layout)]))
    assert _paid(layout / "inside.sqlite")


def test_db_paths_default_to_the_working_directory(layout, monkeypatch):
    monkeypatch.delenv(ROOTS_ENV, raising=False)
    monkeypatch.chdir(layout)
    assert _paid("inside.sqlite")
    assert _paid(layout / "inside.sqlite")
    assert _refused_db("../outside.sqlite")
    assert _refused_db(layout / "link.sqlite")


def test_an_empty_root_list_refuses_every_db_path(layout, monkeypatch):
    monkeypatch.setenv(ROOTS_ENV, "")
    monkeypatch.chdir(layout)
    assert _refused_db(layout / "inside.sqlite")
    assert _refused_db("inside.sqlite")
    # inline databases do not need a root
    inline = {"sql": "SELECT 1", "schema": "CREATE TABLE t(a INT)"}
    assert score("sql.execution", fence("SELECT 1"), inline).value == 1.0


def test_a_refused_path_does_not_say_whether_the_file_exists(layout, monkeypatch):
    monkeypatch.setenv(ROOTS_ENV, str(layout))
    there, absent = layout.parent / "outside.sqlite", layout.parent / "absent.sqlite"
    messages = [
        score("sql.execution", fence("SELECT 1"), _db(path)).error.message.replace(str(path), "P")
        for path in (there, absent)
    ]
    assert messages[0] == messages[1]


def test_score_cli_takes_sql_roots(layout, tmp_path):
    rollouts = tmp_path / "r.jsonl"
    row = {"completion": fence("SELECT 1"), "reference": _db(layout / "inside.sqlite")}
    rollouts.write_text(json.dumps(row) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = Path(sys.executable).with_name("rewardsmith")
    env = {k: v for k, v in os.environ.items() if k != ROOTS_ENV}

    def errors(*args: str) -> int:
        proc = subprocess.run(
            [str(script), "score", str(rollouts), "--spec", "text2sql", "--json", *args],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=elsewhere,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        return int(json.loads(proc.stdout)["status"].get("error", 0))

    assert errors() == 1  # the default root is the working directory
    assert errors("--sql-root", str(layout)) == 0
    assert errors("--sql-root", str(elsewhere), "--sql-root", str(layout.parent)) == 0


def test_serve_cli_sets_no_root_by_default_and_passes_named_roots(layout, monkeypatch):
    pytest.importorskip("fastapi")
    from typer.testing import CliRunner

    import rewardsmith.serve.run as serve_run
    from rewardsmith.cli import app

    seen: list[str | None] = []
    monkeypatch.setattr(serve_run, "serve", lambda *a, **k: seen.append(os.environ.get(ROOTS_ENV)))
    monkeypatch.delenv(ROOTS_ENV, raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["serve", "--spec", "text2sql"]).exit_code == 0
    monkeypatch.delenv(ROOTS_ENV, raising=False)
    other = layout.parent / "b"
    other.mkdir()
    args = ["serve", "--spec", "text2sql", "--sql-root", str(layout), "--sql-root", str(other)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen == ["", os.pathsep.join([str(layout.resolve()), str(other.resolve())])]


# 3. DuckDB time and memory limits -------------------------------------------------------

RUNAWAY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys, time
    import rewardsmith
    from rewardsmith.core import Sample

    def rss_mb():
        # the peak of this process's own memory (VmHWM starts afresh at exec; ru_maxrss
        # would carry the parent's peak across fork and exec)
        with open("/proc/self/status") as f:
            line = next(x for x in f if x.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024

    cases = json.loads(sys.stdin.read())
    out = {"cases": []}
    warm = {"sql": "SELECT 1", "schema": "CREATE TABLE t(a INT)", "engine": "duckdb"}
    start = time.monotonic()
    rewardsmith.load("sql.execution").score([Sample(completion="SELECT 1", reference=warm)])
    out["warm_s"] = time.monotonic() - start
    out["base_rss_mb"] = rss_mb()
    for name, sql, reference, params in cases:
        reward = rewardsmith.load(name, **params)
        start = time.monotonic()
        s = reward.score([Sample(completion=f"```sql\\n{sql}\\n```", reference=reference)])[0]
        out["cases"].append({
            "sql": sql, "name": name, "seconds": time.monotonic() - start,
            "value": s.value, "status": str(s.status.value),
            "why": str(s.info.get("reason") or s.error)[:200], "rss_mb": rss_mb(),
        })
    print(json.dumps(out))
    """
)
TIMEOUT = 1.0
BASE = {"sql": "SELECT 1", "schema": "CREATE TABLE t(a INT)", "engine": "duckdb"}
RUNAWAY_QUERIES = [
    "SELECT length(repeat('x', 4000000000))",
    "SELECT length(lpad('x', 2000000000, 'y'))",
    "SELECT length(range(400000000))",
    "SELECT len(list_resize([1], 400000000))",
    "SELECT length(repeat([1, 2, 3, 4], 200000000))",
    "SELECT sum(length(to_json(range(40000000)))::BIGINT)",
    "SELECT length(string_agg(repeat('x', 1000), ',')) FROM range(10000000)",
    "SELECT count(*) FROM range(1000000) a, range(1000000) b",
]


def test_runaway_duckdb_queries_stop_at_the_deadline_in_bounded_memory(tmp_path):
    limits = {"timeout": TIMEOUT}
    cases = [("sql.execution", q, BASE, limits) for q in RUNAWAY_QUERIES]
    cases.append(("sql.syntax", RUNAWAY_QUERIES[0], BASE, limits))  # EXPLAIN folds constants
    gold = {**BASE, "sql": RUNAWAY_QUERIES[0]}
    cases.append(("sql.execution", "SELECT 1", gold, limits))
    schema = {**BASE, "schema": "CREATE TABLE t AS SELECT repeat('x', 4000000000) AS s"}
    cases.append(("sql.execution", "SELECT 1", schema, limits))
    proc = subprocess.run(
        [sys.executable, "-c", RUNAWAY_SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    print(json.dumps(report, indent=1))  # the figures, with -s
    for case in report["cases"]:
        assert case["seconds"] < TIMEOUT + 3.0, case
        if case["name"] == "sql.execution" and case["sql"] != "SELECT 1":
            assert case["value"] == 0.0, case
            assert case["status"] == "timeout" or "memory" in case["why"].lower(), case
        elif case["name"] == "sql.syntax":  # EXPLAIN plans it without building the string
            assert case["value"] in (0.0, 1.0) and case["status"] in ("ok", "timeout"), case
        else:  # a runaway gold query or schema: the reference's fault
            assert case["value"] is None and case["status"] == "error", case
    assert max(c["rss_mb"] for c in report["cases"]) < 1024, report


def test_every_duckdb_connection_has_the_limits(tmp_path):
    from rewardsmith.verifiable.sql import database

    path = parse_reference({**BASE}).path
    conn = database.open_duckdb(path)
    try:
        settings = dict(
            conn.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN ('threads', "
                "'memory_limit', 'enable_external_access', 'lock_configuration', "
                "'temp_directory', 'autoload_known_extensions', 'autoinstall_known_extensions',"
                " 'allow_persistent_secrets')"
            ).fetchall()
        )
    finally:
        conn.close()
    assert settings["threads"] == "1"
    assert settings["memory_limit"].endswith("MiB") and float(settings["memory_limit"][:-4]) < 1100
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["autoload_known_extensions"] == "false"
    assert settings["autoinstall_known_extensions"] == "false"
    assert settings["allow_persistent_secrets"] == "false"
    assert settings["temp_directory"] == ""  # no spilling next to an operator's file


# 17. SIGTERM leaves no temporary copies ------------------------------------------------

SIGTERM_SCRIPT = textwrap.dedent(
    """
    import signal, sys, time
    from rewardsmith.verifiable.sql import parse_reference

    engine, mode = sys.argv[1], sys.argv[2]
    if mode == "own-handler":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(3))
    ref = {"sql": "SELECT 1", "schema": "CREATE TABLE t(a INT)", "rows": {"t": [[1]]},
           "engine": engine}
    parse_reference(ref)
    print("ready", flush=True)
    time.sleep(120)
    """
)


@pytest.mark.parametrize(
    ("engine", "mode", "code"),
    [
        ("sqlite", "plain", -signal.SIGTERM),
        ("duckdb", "plain", -signal.SIGTERM),
        ("sqlite", "own-handler", 3),
    ],
)
def test_sigterm_leaves_no_temporary_database_copies(tmp_path, engine, mode, code):
    with subprocess.Popen(
        [sys.executable, "-c", SIGTERM_SCRIPT, engine, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline()
            assert line.strip() == "ready", proc.stderr.read()
            assert list(tmp_path.glob("rewardsmith-sql-*"))  # the copy exists meanwhile
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == code, proc.stderr.read()
        finally:
            proc.kill()
            proc.communicate()
    deadline = time.monotonic() + 5
    while list(tmp_path.glob("rewardsmith-sql-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(tmp_path.glob("rewardsmith-sql-*"))


def test_inline_databases_build_from_threads_without_a_handler(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    refs = [{"sql": "SELECT 1", "schema": f"CREATE TABLE t{i}(a INT)"} for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda r: parse_reference(r).path, refs))
    assert all(p is not None and os.path.isfile(p) for p in paths)


WORKER_SCRIPT = textwrap.dedent(
    """
    import rewardsmith
    from rewardsmith.core import Sample
    from rewardsmith.runtime import Isolated

    ref = {"sql": "SELECT a FROM t", "schema": "CREATE TABLE t(a INT)", "rows": {"t": [[1]]}}
    reward = Isolated(rewardsmith.load("sql.execution"), timeout=30.0)
    samples = [Sample(completion="SELECT 1", reference=ref) for _ in range(4)]
    print([s.value for s in reward.score(samples)])
    """
)


def test_worker_processes_remove_their_copies_when_they_end(tmp_path):
    # A multiprocessing child ends with os._exit: atexit never runs there.
    proc = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "[1.0, 1.0, 1.0, 1.0]"
    assert not list(tmp_path.glob("rewardsmith-sql-*"))
