"""Users under MEDCOM_HOME/access/ (never in the warehouse or a snapshot): roles, scopes, password and
API-token hashes (argon2id through argon2-cffi), the sign-in lock-out.

`users.json` holds every user; it is rewritten atomically (temp file + rename, mode 0600) under an
fcntl lock, so a failed command leaves it as it was. A token is `<id>.<secret>`: the id finds the
user, only an argon2 hash of the secret is kept; a user has at most one token (a new one revokes
the old), and a disabled user's token and sessions stop working at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from medcom.access.scope import Scope
from medcom.errors import MedcomError, UsageError
from medcom.settings import paths

ROLES = ("admin", "analyst", "county", "steward")
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60  # seconds
LOCKOUT = 15 * 60
_hasher = PasswordHasher()


class AccessError(UsageError):
    """Bad input to `medcom users …` (one plain line, exit 2)."""


@dataclass
class User:
    name: str
    role: str
    county: str | None = None
    city: str | None = None
    password_hash: str = ""
    token_id: str | None = None
    token_hash: str | None = None
    disabled: bool = False
    created_at: str = ""
    updated_at: str = ""
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0

    @property
    def scope(self) -> Scope:
        if self.county:
            return Scope("county", self.county)
        if self.city:
            return Scope("city", self.city)
        return Scope()

    @property
    def epoch(self) -> str:
        """Changes when the password changes (or the user is disabled): ends existing sessions."""
        return self.password_hash[-12:] + ("x" if self.disabled else "")

    def public(self) -> dict:
        d = asdict(self)
        for k in ("password_hash", "token_hash", "failures", "locked_until"):
            d.pop(k)
        d["scope"] = str(self.scope)
        d["has_token"] = bool(self.token_id)
        return d


def access_dir() -> Path:
    d = paths().ensure().home / "access"
    d.mkdir(mode=0o700, exist_ok=True)
    return d


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def _locked() -> Iterator[dict[str, User]]:
    """The user table under the lock; written back (atomically) when the block ends without error."""
    d = access_dir()
    with open(d / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            users = _read(d)
            before = json.dumps({k: asdict(v) for k, v in users.items()}, sort_keys=True)
            yield users
            after = json.dumps({k: asdict(v) for k, v in users.items()}, sort_keys=True)
            if after != before:
                tmp = d / f".users.{os.getpid()}.tmp"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(after)
                os.replace(tmp, d / "users.json")
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read(d: Path | None = None) -> dict[str, User]:
    f = (d or access_dir()) / "users.json"
    try:
        raw = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise MedcomError(f"{f} is not valid JSON: {exc}") from None
    return {k: User(**v) for k, v in raw.items()}


def all_users() -> list[User]:
    return sorted(_read().values(), key=lambda u: u.name)


def get(name: str) -> User | None:
    return _read().get(name)


def _need(users: dict[str, User], name: str) -> User:
    if name not in users:
        raise AccessError(f"no user named {name!r} (see `medcom users list`)")
    return users[name]


def _check_password(password: str | None) -> str:
    if password is None or not password.strip():
        raise AccessError("the password is empty")
    if len(password) < 8:
        raise AccessError("the password is too short (at least 8 characters)")
    return password


def warehouse_orgs(level: str) -> dict[str, str]:
    """{code: name} of the published warehouse's orgs of `level`."""
    from warehouse import connect_reader

    try:
        con = connect_reader()
    except MedcomError:
        raise AccessError(
            f"no published warehouse yet, so the {level} cannot be checked: run `medcom ingest` and `medcom build` first"
        ) from None
    try:
        rows = con.execute("SELECT org_id, name FROM marts.dim_org WHERE org_level = ?", [level]).fetchall()
    finally:
        con.close()
    return {str(a): str(b) for a, b in rows}


def add(name: str, role: str, password: str, county: str | None = None, city: str | None = None) -> User:
    name = (name or "").strip()
    if not name or any(c.isspace() for c in name) or ":" in name or "." in name:
        raise AccessError("a user name is one word without spaces, ':' or '.'")
    if role not in ROLES:
        raise AccessError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "county" and not county:
        raise AccessError("role county needs --county CODE")
    if role in ("admin",) and (county or city):
        raise AccessError("an admin sees everything: no --county or --city")
    if city and role != "analyst":
        raise AccessError("--city is for analysts of a province warehouse")
    if county and role not in ("county", "steward"):
        raise AccessError(f"--county is for roles county and steward, not {role}")
    for level, code in (("county", county), ("city", city)):
        if code:
            known = warehouse_orgs(level)
            if code not in known:
                raise AccessError(f"{code} is not a {level} of the warehouse (known: {', '.join(sorted(known))})")
    _check_password(password)
    with _locked() as users:
        if name in users:
            raise AccessError(f"a user named {name!r} already exists")
        u = User(name, role, county or None, city or None, _hasher.hash(password), created_at=_now())
        u.updated_at = u.created_at
        users[name] = u
    return u


def set_disabled(name: str, disabled: bool) -> User:
    with _locked() as users:
        u = _need(users, name)
        u.disabled = disabled
        u.failures, u.locked_until = [], 0.0
        u.updated_at = _now()
    return u


def passwd(name: str, password: str) -> User:
    _check_password(password)
    with _locked() as users:
        u = _need(users, name)
        u.password_hash = _hasher.hash(password)
        u.failures, u.locked_until = [], 0.0
        u.updated_at = _now()
    return u


def new_token(name: str) -> str:
    """A new API token for the user (the previous one stops working); returned once, stored hashed."""
    tid, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with _locked() as users:
        u = _need(users, name)
        u.token_id, u.token_hash = tid, _hasher.hash(secret)
        u.updated_at = _now()
    return f"mc_{tid}.{secret}"


def user_for_token(token: str) -> User | None:
    """The enabled user holding this token, else None."""
    token = (token or "").strip()
    if not token.startswith("mc_") or "." not in token:
        return None
    tid, _, secret = token[3:].partition(".")
    for u in _read().values():
        if u.token_id and secrets.compare_digest(u.token_id, tid):
            if u.disabled or not u.token_hash:
                return None
            try:
                _hasher.verify(u.token_hash, secret)
            except (VerificationError, InvalidHashError):
                return None
            return u
    return None


class LockedOut(MedcomError):
    """Too many failed sign-ins: refused (429) until `until`."""

    def __init__(self, until: float):
        super().__init__("too many failed sign-ins: try again later")
        self.until = until


def authenticate(name: str, password: str, now: float | None = None) -> User | None:
    """The user when the password is right and the user is enabled; None otherwise.

    Raises LockedOut after MAX_FAILURES failures within FAILURE_WINDOW (for LOCKOUT seconds), even
    for the right password. Failures of unknown names are not stored (nothing to lock)."""
    now = time.time() if now is None else now
    locked = None
    with _locked() as users:
        u = users.get(name)
        if u is None:
            _hasher.hash(password or "x")  # same work as a known name: no timing hint
            return None
        if u.locked_until > now:
            locked = u.locked_until
        else:
            ok = False
            if not u.disabled:
                try:
                    ok = _hasher.verify(u.password_hash, password or "")
                except (VerificationError, InvalidHashError):
                    ok = False
            if ok:
                u.failures, u.locked_until = [], 0.0
                if _hasher.check_needs_rehash(u.password_hash):
                    u.password_hash = _hasher.hash(password)
                return u
            u.failures = [t for t in u.failures if now - t < FAILURE_WINDOW] + [now]
            if len(u.failures) >= MAX_FAILURES:
                u.locked_until, u.failures = now + LOCKOUT, []
                locked = u.locked_until
    if locked is not None:
        raise LockedOut(locked)
    return None
