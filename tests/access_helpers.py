"""Users, sign-in and Dash callback calls for the access tests (real CLI, real Flask routes)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from medcom_cli import run_medcom

PASSWORD = "correct-horse-7"
ADMIN = "browser-admin"
COUNTY_USER = "browser-county"


def ensure_user(home: Path, name: str, role: str, county: str | None = None, password: str = PASSWORD) -> str:
    """Add the user with `medcom users add --password-stdin` (or reset an existing one); returns the password."""
    args = ["users", "add", name, "--role", role, "--password-stdin"] + (["--county", county] if county else [])
    proc = run_medcom(*args, home=home, input_text=password + "\n")
    if proc.returncode != 0:
        assert "already exists" in proc.stderr, proc.stderr
        run_medcom("users", "passwd", name, "--password-stdin", home=home, input_text=password + "\n", check=True)
        run_medcom("users", "enable", name, home=home, check=True)
    return password


def csrf(client, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, name: str, password: str = PASSWORD, nxt: str = "/"):
    return client.post("/login", data={"username": name, "password": password, "csrf_token": csrf(client), "next": nxt})


def dash_call(client, outputs: list[tuple[str, str]], inputs: list[tuple[str, str, object]], state=()):
    """POST one Dash callback as the browser does; returns the response."""
    if len(outputs) == 1:
        output = f"{outputs[0][0]}.{outputs[0][1]}"
        outs = {"id": outputs[0][0], "property": outputs[0][1]}
    else:
        output = ".." + "...".join(f"{i}.{p}" for i, p in outputs) + ".."
        outs = [{"id": i, "property": p} for i, p in outputs]
    body = {
        "output": output,
        "outputs": outs,
        "inputs": [{"id": i, "property": p, "value": v} for i, p, v in inputs],
        "changedPropIds": [f"{inputs[0][0]}.{inputs[0][1]}"],
        "state": [{"id": i, "property": p, "value": v} for i, p, v in state],
    }
    return client.post("/_dash-update-component", json=body)


def page_json(client, path: str, search: str = "") -> str:
    """The page body Dash Pages renders for a URL (the router callback), as JSON text."""
    r = dash_call(
        client,
        [("_pages_content", "children"), ("_pages_store", "data")],
        [("_pages_location", "pathname", path), ("_pages_location", "search", search)],
    )
    assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
    return json.dumps(r.get_json()["response"]["_pages_content"], ensure_ascii=False)


def sign_in(driver, base: str, name: str, password: str = PASSWORD, timeout: float = 30) -> None:
    """Sign in through the real /login form in the browser; waits for the signed-in header."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base + "/login")
    WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.ID, "username")))
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, timeout).until(ec.presence_of_element_located((By.ID, "signed-in-user")))
