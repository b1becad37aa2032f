"""A benchmark's run in a process of its own, so that its time and its peak memory are its own:
``in_own_process(module, *args)`` calls ``measured_run(*args)`` of ``module`` in a new Python
and returns the dict it gives; ``peak_mb()`` is the calling process's peak resident memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM starts anew at exec; ru_maxrss would carry the
    parent's peak over a fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_own_process(module: str, *args: Any) -> dict[str, float]:
    """``module.measured_run(*args)`` run in a new process; its result, a dict of numbers."""
    values = [str(a) if isinstance(a, Path) else a for a in args]
    code = (f"import json; from {module} import measured_run; "
            f"print(json.dumps(measured_run(*{values!r})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"{module} {args[0] if args else ''} run failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
