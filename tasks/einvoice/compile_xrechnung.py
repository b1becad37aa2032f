"""Compile the XRechnung Schematron rules to XSLT with SchXslt (both shipped in ``artefacts/``).

    python -m tasks.einvoice.compile_xrechnung          # writes artefacts/xrechnung/xslt/*.xslt
    python -m tasks.einvoice.compile_xrechnung --check  # exit 1 if the committed files differ

The output is committed; a test checks that this script reproduces it byte for byte (the compile
time SchXslt stamps into its output is left out, so the same sources always give the same file).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tasks.einvoice.validation import ARTEFACTS, XRECHNUNG_XSLT

COMPILER = ARTEFACTS / "schxslt/2.0/pipeline-for-svrl.xsl"
SOURCES = {"CII": ARTEFACTS / "xrechnung/schematron/cii/XRechnung-CII-validation.sch",
           "UBL": ARTEFACTS / "xrechnung/schematron/ubl/XRechnung-UBL-validation.sch"}
_STAMP = re.compile(r"\s*<dct:created>\d{4}-\d\d-\d\dT[^<]*</dct:created>")


def compile_all() -> dict[Path, str]:
    """{target path: compiled stylesheet} for both syntaxes."""
    from saxonche import PySaxonProcessor

    with PySaxonProcessor(license=False) as processor:
        compiler = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(COMPILER))
        compiled = {}
        for syntax, source in SOURCES.items():
            output = compiler.transform_to_string(source_file=str(source))
            if not output:
                raise RuntimeError(f"{source.name}: SchXslt produced nothing")
            compiled[XRECHNUNG_XSLT[syntax]] = _STAMP.sub("", output)
        return compiled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the committed files")
    args = parser.parse_args(argv)
    stale = []
    for target, text in compile_all().items():
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    for target in stale:
        print(f"{target} differs from what the sources compile to", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
