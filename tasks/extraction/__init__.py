"""From positioned text to invoice fields: the label lookup, amounts, the other fields, the parties,
vendor templates (kept as data), validation with a confidence, and the reading of one file into
an invoice that says why a person should look at it.
"""
