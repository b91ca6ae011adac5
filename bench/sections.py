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


# a 1-minute load average this high before the run starts means other work held a core
BUSY_LOAD_AT_START = 1.0


def was_shared(load_at_start: str) -> bool:
    """Whether other work was running when the run started, from "1m 5m 15m" load averages."""
    try:
        return float(load_at_start.split()[0]) >= BUSY_LOAD_AT_START
    except (IndexError, ValueError):
        return True  # unknown: do not claim a quiet machine


def machine_note(load_at_start: str) -> str:
    if was_shared(load_at_start):
        return (
            "The machine was shared with other work during the run: every figure below is "
            "lower than the same code would give on an idle machine."
        )
    return "Nothing else ran on the machine when the run started (the load at the end is its own)."
