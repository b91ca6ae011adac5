"""Each benchmark owns one marked section of docs/benchmarks.md and leaves the rest alone."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, name: str, markdown: str) -> None:
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{markdown.strip()}\n{end}\n"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = f"{before}{block}{after}"
    else:
        text = f"{text.rstrip()}\n\n{block}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
