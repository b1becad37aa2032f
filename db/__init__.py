"""The database: models, sessions, migrations. Importing any of it puts every table on ``Base.metadata``."""

from db import einvoice_tables  # noqa: F401  (the e-invoice tables, beside db.models)
