"""WSGI entry point: ``gunicorn wsgi:app``."""

from scim_server import create_app

app = create_app()
