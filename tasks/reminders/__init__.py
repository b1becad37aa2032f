"""Reminders: when an invoice reaches a level (the policy), who gets which digest (the plan), the
ledger that makes each (invoice, level, recipient) go out once, composing the digest, and the
run that sends them.
"""
