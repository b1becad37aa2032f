"""What a file must be before any part of it is read as a workbook: not empty, not a
password-protected workbook (an OLE container holding an EncryptedPackage), not a legacy .xls,
a zip that is a workbook, and no zip bomb (members expanding beyond the limits). Each is refused
with a file-level WorkbookError that says which.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from tasks.errors import WorkbookError
from tasks.workbook.limits import Limits

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


def check_file(path: Path, limits: Limits = Limits(), name: str | None = None) -> None:
    """Refuse what is not a readable .xlsx before any part of it is read (WorkbookError, file
    level, naming the file by ``name``, else by its own name)."""
    name = name or path.name
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(4096)
            if head.startswith(_OLE):
                data = head + handle.read(64 << 20)
    except OSError as err:
        raise WorkbookError(f"{name}: cannot be read: {err}") from err
    if size == 0:
        raise WorkbookError(f"{name}: the file is empty (0 bytes)")
    if head.startswith(_OLE):
        if _ENCRYPTED_PACKAGE in data:
            raise WorkbookError(f"{name}: the workbook is password-protected; remove the password in Excel "
                                "(File > Info > Protect Workbook) and save it again")
        raise WorkbookError(f"{name}: a legacy Excel 97-2003 (.xls) or other OLE file; save it as .xlsx")
    if not head.startswith(b"PK\x03\x04"):
        from tasks.documents.filetypes import (
            detect,  # only here: it brings the document readers along
        )

        kind = detect(head).kind
        raise WorkbookError(f"{name}: not an Excel workbook (.xlsx); its content looks like {kind}")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise WorkbookError(f"{name}: a damaged zip file, not a readable workbook ({err})") from err
    names = {m.filename for m in members}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise WorkbookError(f"{name}: a zip archive but not an Excel workbook (no xl/workbook.xml)")
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise WorkbookError(f"{name}: expands to {total / 1e6:.0f} MB, more than the limit of "
                            f"{limits.max_uncompressed_bytes / 1e6:.0f} MB (a zip bomb?)")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > 1 << 20 and ratio > limits.max_ratio:
            raise WorkbookError(f"{name}: member {member.filename} expands {ratio:.0f} times "
                                f"({member.file_size / 1e6:.0f} MB); refused as a zip bomb")
