"""Locust users for the dashboard load test (`benchmarks/bench_dashboard_load.py` runs it).

Each simulated user loads the app shell once, then views pages as a browser does — for each view the
Dash Pages router callback and the header callback (`benchmarks/dash_views.py`) — picking a view at
random with no think time (a closed-loop load: the measure is how much the server sustains).
FastHttpUser (geventhttpclient): the client takes less of the shared CPU than requests would.
Environment (set by the runner): `MEDCOM_BENCH_VIEWS` (JSON {name: [path, query]}); when the app has
sign-in, `MEDCOM_BENCH_USER` / `MEDCOM_BENCH_PASSWORD`: each user signs in through `/login` (the
form's CSRF token, the session cookie) before viewing.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dash_views import csrf_token, payloads  # noqa: E402

VIEWS = {k: tuple(v) for k, v in json.loads(os.environ.get("MEDCOM_BENCH_VIEWS", "{}")).items()}
USERS = int(os.environ.get("MEDCOM_BENCH_USERS", "0"))
SECONDS = float(os.environ.get("MEDCOM_BENCH_SECONDS", "0"))
_ready = 0


def _one_more_ready(environment) -> None:
    """When every user has signed in and loaded the shell, start the measured window: reset the
    statistics and stop after MEDCOM_BENCH_SECONDS (20 simultaneous sign-ins are an artefact of the
    test's start, not the steady load being measured)."""
    global _ready
    _ready += 1
    if USERS and _ready == USERS:
        environment.runner.stats.reset_all()
        if SECONDS:
            gevent.spawn_later(SECONDS, environment.runner.quit)


class Viewer(FastHttpUser):
    def on_start(self) -> None:
        user = os.environ.get("MEDCOM_BENCH_USER")
        if user:
            token = csrf_token(self.client.get("/login", name="login").text)
            form = {"username": user, "password": os.environ["MEDCOM_BENCH_PASSWORD"], "csrf_token": token, "next": "/"}
            with self.client.post(
                "/login",
                data=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                name="login",
                allow_redirects=False,
                catch_response=True,
            ) as r:
                if r.status_code not in (302, 303):
                    r.failure(f"sign-in answered {r.status_code}")
        self.client.get("/", name="shell")
        _one_more_ready(self.environment)

    @task
    def view(self) -> None:
        name = random.choice(list(VIEWS))
        path, search = VIEWS[name]
        page, header = payloads(path, search)
        for body, part in ((page, "page"), (header, "header")):
            with self.client.post(
                "/_dash-update-component", json=body, name=f"{name}:{part}", catch_response=True
            ) as r:
                if r.status_code != 200:
                    r.failure(f"HTTP {r.status_code}")
                elif part == "page" and any(x in r.text for x in ("page-error", "no-warehouse", "not-permitted")):
                    r.failure("the page says it failed")
