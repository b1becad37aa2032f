"""The work of the system, a package per capability (see each package's docstring): plain functions
that the flows wrap in thin tasks. ``settings`` and ``errors`` serve them all.
"""
