"""The databases a key may use: listed, described, asked in words, queried in SQL (guarded)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ragkit.db.connections import configured
from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.models import ERRORS, DatabaseAskRequest, DatabaseQueryRequest

router = APIRouter(responses=ERRORS)


@router.get("/v1/databases")
def list_databases(who: Caller, index: Index) -> dict[str, Any]:
    added = index.rk.settings.databases
    rows = [{"name": n, "kind": added[n].url.split(":", 1)[0], "collections": added[n].collections}
            for n in index.usable(who, None)]  # fmt: skip
    return {"databases": rows}


@router.get("/v1/databases/{name}/schema")
def database_schema(name: str, who: Caller, index: Index) -> dict[str, Any]:
    index.database(who, name)
    note(database=name)
    database = configured(index.rk.settings, name)
    tables = database.schema()
    about_text = database.note() if database.kind == "sqlite" else ""
    return {"database": name, "tables": [t.as_dict() for t in tables], "note": about_text or None}


@router.post("/v1/databases/{name}/ask")
def database_ask(name: str, body: DatabaseAskRequest, who: Caller, index: Index) -> dict[str, Any]:
    index.database(who, name)
    model = index.model_named(body.model)
    note(database=name, question=body.question)
    with index.generating:
        answer: dict[str, Any] = index.rk.ask_database(body.question, name, model, body.sql_mode).as_dict()
    note(sql=answer["sql"], rows=answer["row_count"])
    return answer


@router.post("/v1/databases/{name}/query")
def database_query(name: str, body: DatabaseQueryRequest, who: Caller, index: Index) -> dict[str, Any]:
    index.database(who, name)
    note(database=name, sql=body.sql)
    result: dict[str, Any] = configured(index.rk.settings, name).run(body.sql).as_dict()
    note(rows=result["row_count"])
    return result
