"""Documents as the system keeps them: the content-addressed store, file types detected from bytes,
intake of a file (stored once by its sha256), the drop folder, and the reading pipeline that
claims a stored document, reads it and saves its invoice.
"""
