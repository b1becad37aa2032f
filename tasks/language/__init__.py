"""Words and values printed on invoices: the labels fields are found next to, and how amounts, dates,
currencies, payment terms, VAT ids and IBANs are written in English, German, French and Dutch.
Plain text in, plain values out; nothing here knows about pages, files or the database.
"""
