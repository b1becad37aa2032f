"""The desk: the office's web app to see, find, open, pay, correct and assign invoices.

Server-rendered pages (FastAPI, Jinja2, htmx served from ``static/``) over the same database and
the same plain functions as the flows; long work is started as a run of its Prefect deployment.
"""
