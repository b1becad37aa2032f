"""Backups of the database and the document store: making one (dump, manifest, only the new
files), verifying it by a restore into a scratch database, retention, and restoring.
"""
