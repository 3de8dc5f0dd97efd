"""WSGI entry point: ``gunicorn wsgi:app``."""

from scim_server.server import serving_app

app = serving_app()
