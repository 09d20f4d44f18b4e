"""The HTTP API: `POST /api/sql` — the SQL sandbox for analysts working from Python, R or Excel.

Request: `Authorization: Bearer <token>` (from `medcom users token NAME`) or a signed-in session,
JSON body `{"query": "...", "max_rows": 10000}`. Answers 200 `{"columns": [...], "rows": [[...]],
"truncated": false}`, 400 `{"error": "..."}` for a refused or failing query, 401 without a valid
token (the guard in `dashboards.auth`), 403 for a role without SQL. The query runs with the same
sandbox and limits as `medcom sql`, on the caller's scope snapshot. Every call is access-logged.
"""

from __future__ import annotations

from flask import g, jsonify, request

from dashboards.auth import signed_in
from medcom.access import log, roles
from warehouse.sandbox import DEFAULT_MAX_ROWS


def _error(message: str, status: int):
    return jsonify({"error": message}), status


def sql_view():
    from dashboards.frame import OutOfScope, current_scope
    from dashboards.queries import run_sql
    from medcom.errors import MedcomError
    from warehouse.sql_cli import _jsonable

    user = signed_in()
    if not roles.can(user.role, "sql"):
        return _error("this account may not run SQL", 403)
    if getattr(g, "medcom_auth", "") == "session" and not request.is_json:
        return _error("send the query as JSON (Content-Type: application/json)", 400)
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return _error('the body must be JSON like {"query": "SELECT ...", "max_rows": 10000}', 400)
    max_rows = body.get("max_rows", DEFAULT_MAX_ROWS)
    if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
        return _error("max_rows must be a positive whole number", 400)
    query = body["query"]
    try:
        scope = current_scope()
    except OutOfScope as exc:
        return _error(str(exc), 403)
    log.record("api_sql", user, sql=query, max_rows=max_rows, via=getattr(g, "medcom_auth", None))
    try:
        res = run_sql(query, max_rows=max_rows, scope=scope)
    except MedcomError as exc:
        return _error(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 400)
    rows = [[_json_value(v) for v in _jsonable(list(r))] for r in res.rows]
    return jsonify({"columns": res.columns, "rows": rows, "truncated": res.truncated})


def _json_value(v):
    """JSON has no NaN or infinity: those become null."""
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return None
    return v


def init(server) -> None:
    server.add_url_rule("/api/sql", "medcom_api_sql", sql_view, methods=["POST"])
