"""Keep the README's configuration reference in step with the settings:
`python -m deployments.readme` rewrites the block between the settings-reference markers."""

from __future__ import annotations

import re
from pathlib import Path

from deployments.envdoc import markdown_reference

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- settings-reference:start -->\n).*?(<!-- settings-reference:end -->)", re.DOTALL)


def with_reference(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + markdown_reference() + m.group(2), text)


if __name__ == "__main__":
    README.write_text(with_reference(README.read_text()))
