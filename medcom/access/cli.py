"""`medcom users …`: add, list, disable, enable, passwd, token, log."""

from __future__ import annotations

import getpass
import sys
from datetime import date
from typing import Annotated

import typer

from medcom.access import log, users
from medcom.access.users import AccessError

app = typer.Typer(help="Users, roles and API tokens; the access log.", no_args_is_help=True)


def _password(stdin: bool, confirm: bool = True) -> str:
    if stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    pw = getpass.getpass("password: ")
    if confirm and getpass.getpass("again: ") != pw:
        raise AccessError("the two passwords differ")
    return pw


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="User name (one word).")],
    role: Annotated[str, typer.Option(help="admin | analyst | county | steward")],
    county: Annotated[str | None, typer.Option(help="County code (role county; optional for steward).")] = None,
    city: Annotated[str | None, typer.Option(help="City code (an analyst of one city of a province).")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Add a user (asks for the password, or reads one line from stdin)."""
    if role not in users.ROLES:  # before asking for a password
        raise AccessError(f"unknown role {role!r}: use one of {', '.join(users.ROLES)}")
    u = users.add(name, role, _password(password_stdin), county=county, city=city)
    print(f"added {u.name} ({u.role}, scope {u.scope})")


@app.command(name="list")
def list_users() -> None:
    """List users: name, role, scope, state, token."""
    rows = users.all_users()
    if not rows:
        print("no users yet: add one with `medcom users add NAME --role admin`")
        return
    print(f"{'name':<20} {'role':<8} {'scope':<20} {'state':<9} token")
    for u in rows:
        state = "disabled" if u.disabled else "enabled"
        print(f"{u.name:<20} {u.role:<8} {str(u.scope):<20} {state:<9} {'yes' if u.token_id else 'no'}")


@app.command()
def disable(name: str) -> None:
    """Disable a user: sign-in, open sessions and the API token stop working at once."""
    users.set_disabled(name, True)
    print(f"disabled {name}")


@app.command()
def enable(name: str) -> None:
    """Enable a disabled user again."""
    users.set_disabled(name, False)
    print(f"enabled {name}")


@app.command()
def passwd(
    name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Set a new password (ends the user's open sessions)."""
    if users.get(name) is None:
        raise AccessError(f"no user named {name!r} (see `medcom users list`)")
    users.passwd(name, _password(password_stdin))
    print(f"password changed for {name}")


@app.command()
def token(name: str) -> None:
    """Print a new API token for the user, and nothing else (shown once; the previous token stops working)."""
    print(users.new_token(name))


@app.command(name="log")
def show_log(
    user: Annotated[str | None, typer.Option(help="Only this user's events.")] = None,
    since: Annotated[str | None, typer.Option(help="From this day (YYYY-MM-DD).")] = None,
) -> None:
    """The access log: sign-ins (good and failed), pages viewed, SQL run, exports, with user and time."""
    day = None
    if since:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise AccessError(f"--since wants a day as YYYY-MM-DD, not {since!r}") from None
    for e in log.read(user=user, since=day):
        print(
            f"{e['ts'][:19]}Z {e.get('user') or '-':<16} {e.get('role') or '-':<8} {e.get('scope') or '-':<16} "
            f"{e['event']:<13} {log.describe(e)}"
        )
