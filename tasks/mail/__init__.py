"""Mailbox intake over IMAP: polling an account, the ledger of messages (claimed before they are
fetched), the parts of a message that are documents, a message body that is itself an invoice,
and storing a message and its documents once.
"""
