"""The web application (FastAPI + Jinja2 + htmx) and the JSON API."""
