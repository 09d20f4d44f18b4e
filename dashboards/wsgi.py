"""WSGI entry point for production serving: `gunicorn 'dashboards.wsgi:server'`."""

from dashboards.app import create_app

app = create_app()
server = app.server
