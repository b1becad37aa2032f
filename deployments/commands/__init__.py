"""Command groups of the `invoices` CLI, one module per capability.

Each module defines ``register(app: typer.Typer) -> None`` and adds its commands there;
`deployments.cli` calls every module found in this package.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer


def register_all(app: typer.Typer) -> None:
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        module.register(app)
