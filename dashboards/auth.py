"""Sign-in for the dashboard and the API (Flask-Login sessions, Flask-WTF CSRF on the form).

- `/login` is a server-rendered HTML form (works without JavaScript; password managers know it;
  a CSRF token in a hidden field), zh/en; `/logout` ends the session.
- Sessions are Flask's signed cookies (HttpOnly, SameSite=Lax, Secure with MEDCOM_SECURE_COOKIES=1),
  refreshed on every request and refused after MEDCOM_SESSION_HOURS (default 8) without one. The
  cookie key is MEDCOM_SESSION_SECRET or a random key kept in MEDCOM_HOME/access/session.key (0600).
  A session names the user and a hash epoch: changing the password or disabling the user ends it.
- `guard` runs before every request: `/login`, `/healthz` and static assets are open; any other
  route refuses an anonymous request — a page GET is redirected to /login, Dash callbacks,
  downloads and the API answer 401. `/api/*` also takes `Authorization: Bearer <token>`.
- 5 failed sign-ins for a user within 15 minutes refuse that user (429) for 15 minutes.
"""

from __future__ import annotations

import html as h
import os
import secrets
import time
from datetime import timedelta
from urllib.parse import quote, urlparse

from flask import Response, g, has_request_context, redirect, request
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from dashboards.i18n import norm_lang, t
from medcom.access import log, users

OPEN_PATHS = {"/login", "/healthz", "/favicon.ico", "/_favicon.ico"}
OPEN_PREFIXES = ("/assets/", "/_dash-component-suites/")
API_PREFIX = "/api/"
DOWNLOADS = ("/bulletin.pdf",)  # files, not pages: an anonymous request gets 401, not the sign-in form


class SessionUser(UserMixin):
    def __init__(self, user: users.User):
        self.record = user

    def get_id(self) -> str:
        return f"{self.record.name}:{self.record.epoch}"


def session_secret() -> bytes:
    env = os.environ.get("MEDCOM_SESSION_SECRET")
    if env:
        return env.encode("utf-8")
    f = users.access_dir() / "session.key"
    if not f.exists():
        try:
            fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        except FileExistsError:
            pass
    return f.read_text().strip().encode("utf-8")


def session_hours() -> float:
    try:
        return float(os.environ.get("MEDCOM_SESSION_HOURS", "8"))
    except ValueError:
        return 8.0


def signed_in():
    """The medcom.access.users.User of this request (session or API token), or None."""
    if not has_request_context():
        return None
    return getattr(g, "medcom_user", None)


def _load(user_id: str):
    name, _, epoch = (user_id or "").partition(":")
    u = users.get(name)
    if u is None or u.disabled or not secrets.compare_digest(u.epoch, epoch):
        return None
    return SessionUser(u)


def _bearer():
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return users.user_for_token(auth[7:])
    return None


def _refuse_anonymous(path: str):
    is_page = (
        request.method == "GET" and not path.startswith(("/_dash-", API_PREFIX, "/_reload")) and path not in DOWNLOADS
    )
    if is_page:
        nxt = request.full_path.rstrip("?") if request.query_string else path
        return redirect(f"/login?next={quote(nxt, safe='')}")
    if path.startswith(API_PREFIX):
        return Response(
            '{"error": "sign in first: a valid API token or session is required"}',
            401,
            mimetype="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response("sign in first", 401, mimetype="text/plain")


def guard():
    path = request.path
    if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
        return None
    user = None
    if path.startswith(API_PREFIX) and request.headers.get("Authorization"):
        user = _bearer()
        g.medcom_auth = "token"
    elif current_user.is_authenticated:
        user = current_user.record
        g.medcom_auth = "session"
    if user is None:
        return _refuse_anonymous(path)
    g.medcom_user = user
    return None


def _safe_next(nxt: str | None) -> str:
    if not nxt:
        return "/"
    u = urlparse(nxt)
    if u.scheme or u.netloc or not nxt.startswith("/") or nxt.startswith("//"):
        return "/"
    return nxt


LOGIN_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f4f6f8;margin:0;color:#1f2933}
.box{max-width:360px;margin:12vh auto;background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:28px}
h1{font-size:19px;color:#1f4e79;margin:0 0 18px} label{display:block;font-size:13px;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;padding:8px;border:1px solid #c8ccd0;border-radius:4px;font-size:14px}
button{margin-top:18px;width:100%;padding:9px;background:#1f4e79;color:#fff;border:0;border-radius:4px;font-size:15px}
.err{background:#f8d7da;color:#842029;padding:8px;border-radius:4px;font-size:13px} .lang{font-size:12px;float:right}
"""


def login_page(lang: str, nxt: str, error: str | None = None, name: str = "") -> str:
    from flask_wtf.csrf import generate_csrf

    other = "en" if lang == "zh" else "zh"
    err = f'<p class="err" id="login-error" role="alert">{h.escape(error)}</p>' if error else ""
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{h.escape(t("sign_in", lang))} · '
        f'{h.escape(t("app_title", lang))}</title><style>{LOGIN_CSS}</style></head><body><div class="box">'
        f'<a class="lang" href="/login?lang={other}&amp;next={quote(nxt, safe="")}">{"English" if other == "en" else "中文"}</a>'
        f"<h1>{h.escape(t('app_title', lang))}</h1>{err}"
        f'<form method="post" action="/login?lang={lang}" id="login-form">'
        f'<input type="hidden" name="csrf_token" value="{h.escape(generate_csrf())}">'
        f'<input type="hidden" name="next" value="{h.escape(nxt)}">'
        f'<label for="username">{h.escape(t("user_name", lang))}</label>'
        f'<input type="text" id="username" name="username" autocomplete="username" required autofocus value="{h.escape(name)}">'
        f'<label for="password">{h.escape(t("password", lang))}</label>'
        f'<input type="password" id="password" name="password" autocomplete="current-password" required>'
        f'<button type="submit" id="login-submit">{h.escape(t("sign_in", lang))}</button>'
        "</form></div></body></html>"
    )


def _html(body: str, status: int = 200, headers: dict | None = None) -> Response:
    return Response(body, status, mimetype="text/html; charset=utf-8", headers=headers or {})


def login_view():
    from flask_wtf.csrf import CSRFError, validate_csrf
    from wtforms.validators import ValidationError

    lang = norm_lang(request.args.get("lang") or request.form.get("lang"))
    nxt = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(nxt)
        return _html(login_page(lang, nxt))
    name = (request.form.get("username") or "").strip()
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError):
        return _html(login_page(lang, nxt, t("login_expired", lang), name), 400)
    try:
        user = users.authenticate(name, request.form.get("password") or "")
    except users.LockedOut as exc:
        minutes = max(1, round((exc.until - time.time()) / 60))
        log.record("login_locked", name=name, ip=request.remote_addr)
        return _html(
            login_page(lang, nxt, t("login_locked", lang, m=minutes), name),
            429,
            {"Retry-After": str(int(minutes * 60))},
        )
    if user is None:
        log.record("login_failed", name=name, ip=request.remote_addr)
        return _html(login_page(lang, nxt, t("login_failed", lang), name), 401)
    from flask import session

    session.permanent = True
    login_user(SessionUser(user))
    log.record("login", user, ip=request.remote_addr)
    return redirect(nxt)


def logout_view():
    user = signed_in() or (current_user.record if current_user.is_authenticated else None)
    if user is not None:
        log.record("logout", user)
    logout_user()
    lang = norm_lang(request.args.get("lang"))
    return redirect(f"/login?lang={lang}")


def init(server) -> None:
    """Sign-in, session cookies and the guard on the Dash app's Flask server."""
    server.secret_key = session_secret()
    server.config.update(
        SESSION_COOKIE_NAME=os.environ.get("MEDCOM_SESSION_COOKIE", "medcom_session"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("MEDCOM_SECURE_COOKIES", "") not in ("", "0", "false"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=session_hours()),
        SESSION_REFRESH_EACH_REQUEST=True,
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
        WTF_CSRF_TIME_LIMIT=None,
    )
    lm = LoginManager()
    lm.init_app(server)
    lm.user_loader(_load)
    server.before_request(guard)
    server.add_url_rule("/login", "medcom_login", login_view, methods=["GET", "POST"])
    server.add_url_rule("/logout", "medcom_logout", logout_view, methods=["GET", "POST"])
