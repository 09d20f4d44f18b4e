"""The access log: MEDCOM_HOME/access/log.jsonl, one JSON object a line, append-only.

Every way out of the product writes here: sign-ins (good and failed), sign-outs, page views with
their parameters, SQL text (page and API), exports and downloads — with time (UTC), user, role and
scope. Lines are appended with O_APPEND under an fcntl lock, never rewritten; it lives outside the
warehouse and every snapshot.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path


def log_path() -> Path:
    from medcom.access.users import access_dir

    return access_dir() / "log.jsonl"


def record(event: str, user=None, *, name: str | None = None, **detail) -> dict:
    """Append one event; `user` an medcom.access.users.User (or None with `name` for a failed sign-in)."""
    entry = {
        "ts": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "event": event,
        "user": user.name if user is not None else name,
        "role": user.role if user is not None else None,
        "scope": str(user.scope) if user is not None else None,
        **{k: v for k, v in detail.items() if v is not None},
    }
    line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    fd = os.open(log_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return entry


def read(user: str | None = None, since: date | None = None, limit: int | None = None) -> list[dict]:
    """Entries oldest first, filtered by user name and day (UTC); the last `limit` when given."""
    try:
        fh = open(log_path(), encoding="utf-8")  # noqa: SIM115
    except FileNotFoundError:
        return []
    out = []
    with fh:
        for line in fh:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if user and e.get("user") != user:
                continue
            if since and e.get("ts", "")[:10] < since.isoformat():
                continue
            out.append(e)
    return out[-limit:] if limit else out


def describe(e: dict) -> str:
    """Everything but the standard fields, as `key=value` text."""
    skip = {"ts", "event", "user", "role", "scope"}
    return " ".join(
        f"{k}={json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v}"
        for k, v in e.items()
        if k not in skip
    )
