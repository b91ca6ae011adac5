"""Finding NIKs where none may be: log lines, stream entries, error bodies, metric scrapes.

Independent of the services' own redaction (``shared/observability/redaction.py``), so a
gap there shows up here. A text is suspect when it holds

- a NIK the run's test data uses (``known_test_niks``: every 16-digit number written in the
  tests and scenarios), anywhere, also written in groups (``6307 0612 0385 0001``); or
- any 16-digit number shaped like a NIK (province 11-94, day 01-31 or 41-71 for women,
  month 01-12, serial not 0000), unless it sits inside a longer hexadecimal token (a hash)
  or is the digits of a decimal number (``1.795841082210359e+09``, a metric's timestamp).

Leaks are reported with the NIK masked, so the report itself does not spread it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
import redis

REPO = Path(__file__).resolve().parents[1]
_CHAIN = re.compile(r"[0-9]+(?:[ .\-][0-9]+)*")
_DIGITS = re.compile(r"[0-9]")
# One dot and nothing else: a decimal number (a metric's value or timestamp), not digit groups.
_DECIMAL = re.compile(r"[0-9]+\.[0-9]+")
_HEX_TOKEN = re.compile(r"[0-9A-Fa-f]+")
# A UUID's digits can run across its dashes into 16 that look like a NIK (found by the
# kill -9 trials, which write hundreds of thousands of ids): an id, not a NIK.
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_SIXTEEN = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")
LOG_SUFFIXES = (".log", ".jsonl", ".out", ".err")


def looks_like_nik(digits: str) -> bool:
    """16 digits with a NIK's structure: region, birth day (women +40), month, serial."""
    if len(digits) != 16 or not digits.isdigit():
        return False
    province, day, month, serial = (
        int(digits[:2]),
        int(digits[6:8]),
        int(digits[8:10]),
        int(digits[12:]),
    )
    return (
        11 <= province <= 94
        and (1 <= day <= 31 or 41 <= day <= 71)
        and 1 <= month <= 12
        and serial != 0
    )


def mask(nik: str) -> str:
    return nik[:4] + "*" * 12


def known_test_niks(roots: Iterable[Path] = (REPO / "tests", REPO / "scenarios")) -> set[str]:
    """Every 16-digit number written in the test data: the NIKs a run can know of."""
    found: set[str] = set()
    for root in roots:
        for path in root.rglob("*"):
            if path.suffix in (".py", ".csv", ".json", ".yaml", ".yml") and path.is_file():
                found |= set(_SIXTEEN.findall(path.read_text(errors="replace")))
    return found


@dataclass(frozen=True)
class Leak:
    kind: str
    where: str
    nik: str  # masked
    context: str  # masked

    def __str__(self) -> str:
        return f"{self.kind} {self.where}: {self.nik} in ...{self.context}..."


@dataclass
class PrivacyScanner:
    """Collects texts by kind (log, stream, error body, metrics) and the NIKs found in them."""

    known: set[str] = field(default_factory=set)
    scanned: Counter[str] = field(default_factory=Counter)
    leaks: list[Leak] = field(default_factory=list)
    planted: set[tuple[str, str]] = field(default_factory=set)  # (stream, id) the test wrote

    def find(self, text: str) -> Iterator[tuple[str, int, int]]:
        """The NIKs in ``text``, each with the span of the digits it was written in."""
        for chain in _CHAIN.finditer(text):
            digits = "".join(_DIGITS.findall(chain.group()))
            if len(digits) < 16:
                continue
            windows = {digits[i : i + 16] for i in range(len(digits) - 15)}
            known = windows & self.known
            for nik in sorted(known):
                yield nik, chain.start(), chain.end()
            shaped = not known and len(digits) == 16 and looks_like_nik(digits)
            if shaped and not _DECIMAL.fullmatch(chain.group()) and not self._in_hash(text, chain):
                yield digits, chain.start(), chain.end()

    @staticmethod
    def _in_hash(text: str, chain: re.Match[str]) -> bool:
        for uuid in _UUID.finditer(text, max(0, chain.start() - 36), chain.end() + 36):
            if uuid.start() <= chain.start() and chain.end() <= uuid.end():
                return True
        for token in _HEX_TOKEN.finditer(text, max(0, chain.start() - 64), chain.end() + 64):
            if token.start() <= chain.start() and chain.end() <= token.end():
                return token.end() - token.start() > chain.end() - chain.start()
        return False

    def scan(self, kind: str, where: str, text: str) -> list[Leak]:
        self.scanned[kind] += 1
        found = []
        for nik, start, end in self.find(text):
            context = text[max(0, start - 40) : start] + mask(nik) + text[end : end + 40]
            found.append(Leak(kind, where, mask(nik), context))
        self.leaks += found
        return found

    def scan_log_file(self, path: Path) -> None:
        """Every line of a log file (JSON lines or not)."""
        with path.open(errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    self.scan("log line", f"{path.name}:{number}", line)

    def scan_logs_under(self, root: Path) -> int:
        files = [p for p in root.rglob("*") if p.suffix in LOG_SUFFIXES and p.is_file()]
        for path in files:
            self.scan_log_file(path)
        return len(files)

    def scan_streams(self, client: redis.Redis) -> None:
        """Every entry of every stream in the database (dead letters included), except the
        entries the test itself wrote (``planted``): those are input, not what came out."""
        for key in client.scan_iter(_type="STREAM"):
            name = key.decode() if isinstance(key, bytes) else str(key)
            entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(name))
            for entry_id, fields in entries:
                if (name, entry_id.decode()) in self.planted:
                    continue
                decoded = {
                    k.decode(errors="replace"): v.decode(errors="replace")
                    for k, v in fields.items()
                }
                text = json.dumps(decoded, ensure_ascii=False)
                self.scan("stream entry", f"{name} {entry_id.decode()}", text)

    def scan_response(self, response: httpx.Response) -> None:
        """An error body (status >= 400), or a /metrics scrape."""
        where = f"{response.request.method} {response.request.url.path} {response.status_code}"
        if response.request.url.path.endswith("/metrics") and response.status_code == 200:
            self.scan("metrics scrape", where, response.text)
        elif response.status_code >= 400:
            self.scan("error body", where, response.text)

    def scrape_metrics(self, base_url: str) -> None:
        try:
            response = httpx.get(f"{base_url}/metrics", timeout=2.0)
        except httpx.HTTPError:
            return  # already stopped: its last scrape was taken before
        self.scan_response(response)

    def assert_clean(self, since: int = 0) -> None:
        leaks = self.leaks[since:]
        assert not leaks, f"{len(leaks)} NIK(s) found:\n" + "\n".join(str(x) for x in leaks[:20])
