"""Invoice records and what people do with them: the field table, upserts by natural key,
payments, vendors, review and corrections, the overview totals and what needs a person.
"""
