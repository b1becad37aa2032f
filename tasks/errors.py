"""The project's errors: one base class, a subclass per failure kind.

Every message names the item it is about (file, message, sheet, row, account) so that a person
reading a run's artifact knows what to look at.
"""


class InvoiceAutomationError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigurationError(InvoiceAutomationError):
    """A setting is missing or wrong."""


class StorageError(InvoiceAutomationError):
    """The document store could not read or write a file."""


class RejectedDocument(InvoiceAutomationError):
    """A file was refused at intake (empty, too large, unreadable, not a document); it is quarantined."""


class UnreadableDocument(InvoiceAutomationError):
    """A stored document could not be read (corrupt, encrypted, over a limit)."""


class ClaimLost(InvoiceAutomationError):
    """A read's claim on a document was given up for dead and taken by another read; it saves nothing."""


class MailboxError(InvoiceAutomationError):
    """An IMAP account could not be polled."""


class WorkbookError(InvoiceAutomationError):
    """A workbook, sheet or row could not be imported."""


class NotificationError(InvoiceAutomationError):
    """An email could not be rendered or sent."""


class BackupError(InvoiceAutomationError):
    """A backup could not be made, verified, pruned or restored."""


class DatabaseMoveError(InvoiceAutomationError):
    """The database could not be moved (copied and verified) to another server; the target is left as it was."""


class PrefectServerError(ConfigurationError):
    """No Prefect server answers where the system expects one."""


class SchemaNotMigrated(ConfigurationError):
    """The database is missing tables or columns the code needs (`invoices db upgrade` adds them)."""
