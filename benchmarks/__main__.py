"""`make bench`: run every benchmarks/bench_*.py and print its ratios against its baseline.

Each module defines ``run(args) -> list[str]`` returning printable result lines. Select modules
with BENCH_ARGS, e.g. `make bench BENCH_ARGS="ingest"`.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    wanted = [a for a in argv if not a.startswith("-")]
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_"))
    if wanted:
        names = [n for n in names if any(w in n for w in wanted)]
    failed = 0
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            lines = importlib.import_module(f"benchmarks.{name}").run(argv)
        except Exception as err:  # report and go on with the other benchmarks
            failed += 1
            print(f"   FAILED: {type(err).__name__}: {err}", flush=True)
            continue
        for line in lines:
            print(f"   {line}", flush=True)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
