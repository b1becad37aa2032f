"""Reading invoices nobody here wrote: the third-party invoices and receipts with their ground truth
in ../shared/real-invoices (BENCH_REAL_INVOICES names another folder), scored with the field rules
of the committed corpus, per field and per kind of file (text-layer PDF, scanned PDF, image), against
the naive extractor of bench_extract on the same files.

Besides the share of fields right: the documents with every field right, the documents with a wrong
value that were not flagged for review (silent errors: the target is none), and the share of
all-right documents that pass without review (the target is 70% or more)."""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = Path(os.environ.get("BENCH_REAL_INVOICES", ROOT.parent / "shared" / "real-invoices"))
KINDS = ("text-pdf", "scanned-pdf", "image")
# Left out of the share of fields right (false on all but two documents, it would flatter it), but
# a wrong one still makes a document wrong.
UNSCORED = {"is_credit_note"}


def _cases() -> list[tuple[Path, str, dict]]:
    with (FOLDER / "INDEX.tsv").open(encoding="utf-8") as index:
        rows = csv.DictReader(index, delimiter="\t")
        return [(FOLDER / row["file"], row["kind"], json.loads(row["expected"])) for row in rows]


def run(argv: list[str]) -> list[str]:
    if not (FOLDER / "INDEX.tsv").exists():
        return [f"no third-party set at {FOLDER} (set BENCH_REAL_INVOICES)"]
    from benchmarks.bench_extract import _naive
    from tasks.extraction.invoice_file import understand_file
    from tasks.extraction.templates import load_yaml_templates
    from tasks.settings import OcrSettings
    from tests.support.corpus_fixtures import got, same

    ocr, templates = OcrSettings(), load_yaml_templates(ROOT / "templates")
    right, scored = Counter(), Counter()  # by (kind, field)
    naive_right = naive_scored = ours_on_naive = 0
    all_right = silent = missed_silently = passed_clean = 0
    silent_files: list[str] = []
    started = time.perf_counter()
    cases = _cases()
    for path, kind, want in cases:
        result = understand_file(path, path.name, ocr, templates)
        found = got(result)
        wrong = [f for f in want if not same(f, found.get(f), want[f])]
        for field in want:
            scored[kind, field] += 1
            right[kind, field] += field not in wrong
        guess = _naive(result.text)
        for field in (f for f in guess if f in want):
            naive_scored += 1
            naive_right += same(field, guess[field], want[field])
            ours_on_naive += field not in wrong
        if not wrong:
            all_right += 1
            passed_clean += not result.needs_review
        elif not result.needs_review:
            if any(found.get(f) is not None for f in wrong):
                silent += 1
                silent_files.append(f"{path.name} ({', '.join(f for f in wrong if found.get(f) is not None)})")
            else:
                missed_silently += 1
    seconds = time.perf_counter() - started
    total_right = sum(v for (_, f), v in right.items() if f not in UNSCORED)
    total = sum(v for (_, f), v in scored.items() if f not in UNSCORED)
    lines = [f"third-party invoices ({len(cases)} documents from {FOLDER.name}, {seconds / len(cases):.1f} s each): "
             f"{total_right}/{total} fields right, {total_right / total:.1%} (target >= 95%)"]
    for kind in KINDS:
        k_right = sum(v for (k, f), v in right.items() if k == kind and f not in UNSCORED)
        k_total = sum(v for (k, f), v in scored.items() if k == kind and f not in UNSCORED)
        if k_total:
            lines.append(f"    {kind}: {k_right}/{k_total} ({k_right / k_total:.0%})")
    fields = sorted({f for _, f in scored})
    lines.append("    per field: " + ", ".join(
        f"{f} {sum(right[k, f] for k in KINDS)}/{sum(scored[k, f] for k in KINDS)}" for f in fields))
    lines.append(f"    documents all right: {all_right}/{len(cases)}; of them passed without review: {passed_clean} "
                 f"({passed_clean / max(all_right, 1):.0%}, target >= 70%)")
    lines.append(f"    silent errors (a wrong value, no review flag): {silent} (target 0)"
                 + (f": {'; '.join(silent_files)}" if silent_files else "")
                 + f"; a field missed without a review flag: {missed_silently}")
    lines.append(f"    vs naive baseline on its fields: ours {ours_on_naive}/{naive_scored}, baseline {naive_right}/{naive_scored} "
                 f"(ratio {ours_on_naive / max(naive_right, 1):.2f}x)")
    return lines
