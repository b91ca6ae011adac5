"""Nothing secret in the repository, and compose refuses to start without credentials.

Every file git tracks is read: private keys, cloud and forge tokens, credentials inside
URLs and ``PASSWORD=``-style assignments with a literal value fail the test. Placeholders
(``change-me``, ``${VAR...}``, ``<...>``, empty) and the throwaway keys the tests make up
are not secrets. In every compose file, each variable that carries a credential must be
required (``${VAR:?message}``): a missing one stops ``docker compose`` instead of starting
Redis or PostgreSQL with an empty password.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MAX_BYTES = 2_000_000

KEY_MATERIAL = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "JSON web token": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+"),
}
CREDENTIAL_NAME = (
    r"[A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|NIK_KEY|LOOKUP_KEY)"
)
ASSIGNMENT = re.compile(
    rf"(?im)^[ \t]*(?:export[ \t]+)?(?P<name>{CREDENTIAL_NAME})[ \t]*[:=][ \t]*(?P<value>[^\s#]*)"
)
URL_CREDENTIALS = re.compile(
    r"\b(?:redis|rediss|postgres|postgresql|mysql|amqp|mongodb)(?:\+\w+)?://"
    r"[^:/\s@\"']*:(?P<password>[^@\s/\"']+)@"
)
PLACEHOLDER = re.compile(
    r"""^["']?(?:|change-me|changeme|\$\{.*|\$[A-Z_]+|<[^>]*>|\{\}|\[\]|\.\.\.|none|null|"""
    r"""example\S*|x+|\*+|redacted"""
    # computed at run time: an f-string's {expression}, or a regex matching ${VAR}
    r"""|\{.*|\\\$\\\{.*)["']?$""",
    re.IGNORECASE,
)
# Secrets the tests invent for services they start themselves (never deployed anywhere).
TEST_VALUE = re.compile(r"^(?:test|dev|e2e|demo|prove|bench|other|admin|fake)[-_]", re.IGNORECASE)
# Files that document or define the patterns themselves.
PATTERN_FILES = {"tests/integration/security/test_secrets.py"}


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO / name for name in listed.decode().split("\0") if name]


def texts() -> Iterator[tuple[str, str]]:
    for path in tracked_files():
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            continue
        raw = path.read_bytes()
        if b"\0" in raw[:8192]:
            continue  # binary
        yield path.relative_to(REPO).as_posix(), raw.decode("utf-8", errors="replace")


def harmless(value: str, relative: str) -> bool:
    value = value.strip().rstrip(",;")
    if PLACEHOLDER.match(value):
        return True
    unquoted = value.strip("\"'")
    return relative.startswith("tests/") and bool(TEST_VALUE.match(unquoted))


def findings(relative: str, text: str) -> Iterator[str]:
    for kind, pattern in KEY_MATERIAL.items():
        for match in pattern.finditer(text):
            yield f"{relative}: {kind} at offset {match.start()}"
    for match in URL_CREDENTIALS.finditer(text):
        if not harmless(match.group("password"), relative):
            yield f"{relative}: a password inside a URL ({match.group()[:30]}...)"
    if relative.endswith((".py", ".md")):
        return  # code and prose name these settings all the time; their values come from env
    for match in ASSIGNMENT.finditer(text):
        if not harmless(match.group("value"), relative):
            yield f"{relative}: {match.group('name')} has a literal value"


def test_no_tracked_file_holds_a_secret() -> None:
    found = [
        finding
        for relative, text in texts()
        if relative not in PATTERN_FILES
        for finding in findings(relative, text)
    ]
    assert found == []


def test_the_secret_scan_finds_what_it_is_meant_to() -> None:
    planted = {
        "deploy/app.env": "REDIS_PASSWORD=hunter2-for-real\n",
        "deploy/key.pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n",
        "deploy/aws.cfg": "aws_access_key_id = " + "AKIA" + "Q" * 16 + "\n",
        "services/x/settings.yaml": "url: postgresql://app:s3cr3t-value@db:5432/app\n",
    }
    for relative, text in planted.items():
        assert list(findings(relative, text)), relative
    for relative, text in {
        ".env.example": "REDIS_PASSWORD=change-me\nSINERGI_TOKEN=\n",
        "compose.yaml": "P: ${REDIS_PASSWORD:?set it}\nU: redis://a:${P:?x}@redis:6379/0\n",
        "tests/x.py": 'TOKEN = "test-token-0123"\n',
        "tests/y.py": 'URL = f"redis://{user}:{password}@127.0.0.1:6379/0"\n',
        "tests/z.py": 'URL = re.compile(r"redis://([a-z]+):\\$\\{(REDIS_[A-Z]+)@")\n',
    }.items():
        assert list(findings(relative, text)) == [], relative


# --- compose ---------------------------------------------------------------------------------

REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<rest>[^}]*)\}")
# Empty on purpose: an unset admin token switches the registry stand-in's /admin API off.
OPTIONAL_CREDENTIALS = {"SINERGI_REGISTRY_ADMIN_TOKEN"}
CREDENTIAL_VARIABLE = re.compile(rf"^{CREDENTIAL_NAME}S?$|_KEYS$", re.IGNORECASE)


def compose_files() -> list[tuple[str, str]]:
    names = re.compile(r"(?:^|/)(?:docker-)?compose[^/]*\.ya?ml$")
    return [(relative, text) for relative, text in texts() if names.search(relative)]


def unrequired_credentials(text: str) -> list[str]:
    return sorted(
        {
            match.group()
            for match in REFERENCE.finditer(text)
            if CREDENTIAL_VARIABLE.search(match.group("name"))
            and match.group("name") not in OPTIONAL_CREDENTIALS
            and not match.group("rest").startswith(":?")
        }
    )


def test_compose_requires_every_credential_it_uses() -> None:
    files = compose_files()
    assert files, "no compose file is tracked"
    for relative, text in files:
        assert unrequired_credentials(text) == [], relative
        # a URL up to its end of line: required variables carry messages with spaces
        for url in re.finditer(r"\b(?:redis|postgresql)://[^\n\"']+", text):
            userinfo = url.group().split("://", 1)[1].split("@", 1)
            assert len(userinfo) == 2, f"{relative}: {url.group()} connects without credentials"
            assert "${" in userinfo[0] and ":?" in userinfo[0], f"{relative}: {url.group()}"


def test_compose_redis_and_postgres_take_their_passwords_from_required_variables() -> None:
    text = dict(compose_files()).get("compose.yaml", "")
    for variable in ("REDIS", "POSTGRES"):
        required = [
            m.group("name")
            for m in REFERENCE.finditer(text)
            if m.group("name").startswith(variable) and "PASSWORD" in m.group("name")
        ]
        assert required, f"compose.yaml gives {variable} no password at all"
    assert unrequired_credentials("${REDIS_PASSWORD:-}") == ["${REDIS_PASSWORD:-}"]
    assert unrequired_credentials("${REDIS_PASSWORD}") == ["${REDIS_PASSWORD}"]
