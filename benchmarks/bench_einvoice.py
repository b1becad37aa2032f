"""E-invoice validation: time per invoice of ``validate_xml`` (the limits of ``parse_xml``, the CII
schema, the EN 16931 rules, the XRechnung CIUS where claimed, the findings read from the SVRL)
against bare saxonche running the same stylesheets on the same file (compiled once, before timing,
for both), invoice by invoice in turns; plus how long compiling every stylesheet once takes.

Files: the official examples and the XRechnung test instances in tests/data/einvoice;
BENCH_EINVOICE_ROUNDS (3) passes over them, BENCH_EINVOICE_FILES (120) files at most.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "einvoice"


def _files(limit: int) -> list[Path]:
    examples = sorted(p for p in (DATA / "en16931").glob("*/*") if p.suffix.lower() == ".xml")
    instances = sorted((DATA / "xrechnung").glob("*/*.xml"))
    return (examples + instances)[:limit]


def run(args: list[str]) -> list[str]:
    from saxonche import PySaxonProcessor

    from tasks.einvoice.profiles import classify
    from tasks.einvoice.validation import EN16931_XSLT, XRECHNUNG_XSLT, validate_xml, warm_up
    from tasks.reading.einvoice_xml import invoice_syntax, parse_xml, profile_of

    rounds = int(os.environ.get("BENCH_EINVOICE_ROUNDS", "3"))
    files = _files(int(os.environ.get("BENCH_EINVOICE_FILES", "120")))
    started = time.perf_counter()
    warm_up()
    compile_seconds = time.perf_counter() - started

    bare = PySaxonProcessor(license=False)
    compiler = bare.new_xslt30_processor()
    stylesheets = {path: compiler.compile_stylesheet(stylesheet_file=str(path))
                   for path in (*EN16931_XSLT.values(), *XRECHNUNG_XSLT.values())}
    plans = []
    for path in files:
        data = path.read_bytes()
        root = parse_xml(data, path.name)
        syntax = invoice_syntax(root)
        profile = classify(syntax, root.tag.rpartition("}")[2], profile_of(root))
        chosen = [EN16931_XSLT[syntax]] + ([XRECHNUNG_XSLT[syntax]] if profile.xrechnung else [])
        plans.append((path, data, data.decode("utf-8"), [stylesheets[p] for p in chosen]))

    ours: list[float] = []
    baseline: list[float] = []
    fatal = 0
    for _ in range(rounds):
        for path, data, text, executables in plans:
            start = time.perf_counter()
            for executable in executables:
                executable.transform_to_string(xdm_node=bare.parse_xml(xml_text=text))
            baseline.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = validate_xml(data, path.name)
            ours.append(time.perf_counter() - start)
            fatal += not result.valid
    ours_ms, base_ms = statistics.median(ours) * 1000, statistics.median(baseline) * 1000
    return [
        (f"{len(plans)} invoices x {rounds} rounds ({fatal // rounds} not valid); stylesheets and schema compiled "
         f"once in {compile_seconds:.2f} s"),
        (f"validation per invoice (median): {ours_ms:.1f} ms, bare saxonche on the same stylesheets {base_ms:.1f} ms: "
         f"ratio {ours_ms / base_ms:.2f}"),
        f"total: {sum(ours):.2f} s against {sum(baseline):.2f} s: ratio {sum(ours) / sum(baseline):.2f}",
    ]
