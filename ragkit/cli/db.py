"""Databases: add, list, remove, schema, sync (rows as documents), and guarded SQL (query)."""

from __future__ import annotations

import sys

import click

from ragkit.cli.common import json_option, open_local
from ragkit.cli.index import sync_rows
from ragkit.cli.output import emit_json, print_table
from ragkit.core.errors import RagkitError


def split_names(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


@click.group(
    epilog="SQLite (sqlite:////abs/path.db) or PostgreSQL. Every query, yours or a model's, goes through"
    " the same guard: one read-only statement on the allowed tables, on a read-only connection, with"
    " row, byte and time caps."
)
def db() -> None:
    """Databases ragkit may read: add, list, remove, schema, sync, and guarded read-only SQL (query)."""


@db.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--tables", default="", metavar="A,B", help="only these tables may be read (default: all)")
@click.option("--text-columns", default="", metavar="T.COL,…", help="columns indexed as documents")
@click.option("--password-env", default=None, metavar="VAR", help="environment variable with the password")
@click.option(
    "--encoding", default=None, metavar="ENC", help="SQLite: how text that is not UTF-8 is read (default: detected)"
)
@click.option(
    "--cursor",
    default="",
    metavar="T.COL,…",
    help="a column that grows when a row changes (updated_at, a version): a sync reads only newer rows",
)
@click.option("--collections", default="", metavar="A,B", help="on a server: keys of these collections may use it")
@click.option("--keys", default="", metavar="K1,K2", help="on a server: only these keys may use it")
def db_add(name: str, url: str, tables: str, text_columns: str, password_env: str | None, encoding: str | None,
           cursor: str, collections: str, keys: str) -> int:  # fmt: skip
    """Add a database: URL is sqlite:////abs/path.db or postgresql://USER@HOST:PORT/NAME (no password)."""
    from ragkit.core.config import update_config_file
    from ragkit.db import connections as databases

    url = databases.check_url(url)
    allowed = split_names(tables)
    columns, cursors = split_names(text_columns), split_names(cursor)
    for option, given in (("--text-columns", columns), ("--cursor", cursors)):
        bad = [c for c in given if c.count(".") != 1]
        if bad:
            raise RagkitError(f"{option} takes table.column names: {', '.join(bad)}")
    texts = {c.split(".")[0] for c in columns}
    stray = [c for c in cursors if c.split(".")[0] not in texts]
    if stray:
        raise RagkitError(f"--cursor is for tables with --text-columns: {', '.join(stray)}")
    if encoding and databases.kind_of(url) != "sqlite":
        raise RagkitError("--encoding is for SQLite files (PostgreSQL says its own encoding)")
    opened = databases.open_database(name, url, allowed, password_env, encoding)  # it opens, or says why
    entry: dict[str, str | list[str]] = {"url": url, "tables": allowed, "text_columns": columns}
    for key, value in (("cursor_columns", cursors), ("collections", split_names(collections)),
                       ("keys", split_names(keys))):  # fmt: skip
        if value:
            entry[key] = value
    if password_env:
        entry["password_env"] = password_env
    if encoding:
        entry["encoding"] = opened.text.encoding
    path = update_config_file("databases", name, entry)
    print(f"added database {name!r} ({len(opened.tables)} readable tables) to {path}")
    return 0


@db.command("list")
@json_option()
def db_list(as_json: bool) -> int:
    """The databases added."""
    from ragkit.core.config import load_settings

    rows = [{"name": n, **d.model_dump()} for n, d in sorted(load_settings().databases.items())]
    if as_json:
        emit_json({"databases": rows})
        return 0
    if not rows:
        print("no databases; add one with: ragkit db add NAME sqlite:////path/to/file.db")
    for r in rows:
        print(f"{r['name']}: {r['url']}  tables: {', '.join(r['tables']) or 'all'}")
    return 0


@db.command("remove")
@click.argument("name")
def db_remove(name: str) -> int:
    """Forget a database (the database itself is not touched)."""
    from ragkit.core.config import load_settings, remove_config_key

    if name not in load_settings().databases:
        raise RagkitError(f"no database is named {name!r} (see: ragkit db list)")
    remove_config_key("databases", name)
    print(f"removed database {name!r} (the database itself is untouched)")
    return 0


@db.command("sync")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@json_option()
def db_sync(names: tuple[str, ...], as_json: bool) -> int:
    """Index the rows of the --text-columns tables as documents (db:NAME/TABLE/ID); default: every
    database with text columns."""
    report = sync_rows(open_local(), list(names) or None, quiet=as_json)
    if as_json:
        emit_json(report)
    return 0


@db.command("schema")
@click.argument("name")
@json_option()
def db_schema(name: str, as_json: bool) -> int:
    """Tables, columns, keys, row counts and sample values."""
    from ragkit.core.config import load_settings
    from ragkit.db import connections as databases

    database = databases.configured(load_settings(), name)
    tables = database.schema()
    note = database.note() if database.kind == "sqlite" else ""
    if as_json:
        emit_json({"database": name, "tables": [t.as_dict() for t in tables], "note": note or None})
        return 0
    if note:
        print(f"note: {note}")
    for t in tables:
        print(f"{t.name} ({'view, ' if t.kind == 'view' else ''}{t.rows} rows)")
        for c in t.columns:
            key = " primary key" if c.primary_key else ""
            ref = f" -> {c.references}" if c.references else ""
            sample = f"  e.g. {', '.join(t.samples[c.name])}" if t.samples.get(c.name) else ""
            print(f"  {c.name} {c.type}{key}{ref}{sample}")
    return 0


@db.command("query")
@click.argument("name")
@click.argument("sql")
@json_option()
@click.option("--csv", "as_csv", is_flag=True, help="the rows as CSV")
def db_query(name: str, sql: str, as_json: bool, as_csv: bool) -> int:
    """Run your own SQL through the guard."""
    from ragkit.core.config import load_settings
    from ragkit.db import connections as databases

    result = databases.configured(load_settings(), name).run(sql)
    if as_json:
        emit_json(result.as_dict())
    elif as_csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        print_table(result.columns, result.rows)
        more = " (the first ones: more than the caps allow)" if result.truncated else ""
        print(f"\n{len(result.rows)} row(s){more}; ran: {result.sql}")
    return 0


COMMANDS = [db]
