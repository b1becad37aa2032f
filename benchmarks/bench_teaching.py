"""Corrections teach: on the vendors of the third-party set (../shared/real-invoices) with two
documents or more, a person corrects the first document's wrong fields (to the ground truth); the
lesson becomes the vendor's template (tasks.extraction.teaching, as a review stores it) and the
vendor's other documents are read again. Printed: their fields right before and after, against
reading them without the lesson, and each correction that could teach nothing, with why."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

from benchmarks.bench_real_invoices import FOLDER, ROOT, UNSCORED, _cases


def _typed(kind: str, value: object) -> object:
    if kind == "amount":
        return Decimal(str(value))
    if kind == "date":
        return date.fromisoformat(str(value))
    return value


def run(argv: list[str]) -> list[str]:
    if not (FOLDER / "INDEX.tsv").exists():
        return [f"no third-party set at {FOLDER} (set BENCH_REAL_INVOICES)"]
    from tasks.extraction.invoice_file import understand_file
    from tasks.extraction.teaching import lesson
    from tasks.extraction.templates import Template, load_yaml_templates
    from tasks.invoices.fields import INVOICE_FIELDS
    from tasks.invoices.review import CONSTANT_FIELDS, TEMPLATE_FIELDS
    from tasks.settings import OcrSettings
    from tests.support.corpus_fixtures import got, same

    ocr, templates = OcrSettings(), load_yaml_templates(ROOT / "templates")
    columns = {f.name: f.column for f in INVOICE_FIELDS}
    kinds = {f.name: f.kind for f in INVOICE_FIELDS}
    by_vendor: dict[str, list[tuple[Path, dict]]] = defaultdict(list)
    for path, _, want in _cases():
        if want.get("vendor"):
            by_vendor[want["vendor"]].append((path, want))
    groups = {vendor: docs for vendor, docs in by_vendor.items() if len(docs) >= 2}
    before = after = scored = 0
    nothing: list[str] = []
    for vendor, docs in sorted(groups.items()):
        (first, want), others = docs[0], docs[1:]
        read = understand_file(first, first.name, ocr, templates)
        found = got(read)
        wrong = {f for f in want if f not in UNSCORED and not same(f, found.get(f), want[f])}
        values = {columns[f]: _typed(kinds[f], want[f]) for f in want if f in columns}
        values["counterparty"] = vendor
        corrected = {columns[f] for f in wrong if f in columns}
        learnt = lesson(read.text, vendor, values, corrected, TEMPLATE_FIELDS, CONSTANT_FIELDS)
        if not learnt.keywords or learnt.why:
            nothing.append(f"{first.name}: {learnt.why}")
        taught = [Template(f"review-{vendor}", learnt.keywords, [], learnt.fields, learnt.options, 5, "db")] \
            if learnt.keywords else []
        for path, other_want in others:
            plain = got(understand_file(path, path.name, ocr, templates))
            lessoned = got(understand_file(path, path.name, ocr, templates + taught))
            for f in (f for f in other_want if f not in UNSCORED):
                scored += 1
                before += same(f, plain.get(f), other_want[f])
                after += same(f, lessoned.get(f), other_want[f])
    if not groups:
        return ["no vendor with two documents or more in the set"]
    lines = [f"corrections teach ({len(groups)} vendors with 2+ documents; the first corrected, the others read again): "
             f"{after}/{scored} fields right after the correction, {before}/{scored} without it "
             f"(ratio {after / max(before, 1):.2f}x)"]
    lines += [f"    taught nothing or not all: {reason}" for reason in nothing] or ["    every correction taught"]
    return lines

