"""Rules every service image follows (hadolint checks the rest: tests/integration/deployment).

Multi-stage on a slim Python base pinned by tag, only the built virtualenv in the final
stage, a non-root numeric user, a HEALTHCHECK on /health/live, SIGTERM as the stop signal
with an exec-form CMD (Python is PID 1 and gets the signal), and no secret baked in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILES = sorted((ROOT / "services").glob("*/Dockerfile"))
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEYS?\b|NIK_KEY|LOOKUP_KEY", re.IGNORECASE)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined; comments and parser directives dropped."""
    found: list[Instruction] = []
    pending = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = (pending + stripped).strip()
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        found.append(Instruction(keyword.upper(), arguments.strip()))
    return found


def stages(path: Path) -> list[list[Instruction]]:
    result: list[list[Instruction]] = []
    for instruction in instructions(path):
        if instruction.keyword == "FROM":
            result.append([])
        assert result, f"{path}: an instruction before the first FROM"
        result[-1].append(instruction)
    return result


def only(stage: list[Instruction], keyword: str) -> list[Instruction]:
    return [instruction for instruction in stage if instruction.keyword == keyword]


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


pytestmark = pytest.mark.parametrize(
    "dockerfile", DOCKERFILES, ids=[p.parent.name for p in DOCKERFILES]
)


def test_an_image_builds_in_one_stage_and_runs_from_another(dockerfile: Path) -> None:
    built = stages(dockerfile)
    assert len(built) >= 2, f"{name(dockerfile)} is not multi-stage"
    runtime = built[-1]
    copies = only(runtime, "COPY")
    assert any(c.arguments.startswith("--from=") for c in copies), "the final stage copies no build"
    assert not any("pip install" in run.arguments for run in only(runtime, "RUN")), (
        "the final stage installs packages: build them in an earlier stage"
    )


def test_every_base_image_is_slim_python_pinned_by_tag(dockerfile: Path) -> None:
    for stage in stages(dockerfile):
        image = stage[0].arguments.split()[0]
        repository, _, tag = image.partition(":")
        assert repository == "python", image
        assert tag and tag != "latest" and "slim" in tag, f"{image}: pin a slim tag"


def test_the_service_runs_as_a_numeric_non_root_user(dockerfile: Path) -> None:
    users = only(stages(dockerfile)[-1], "USER")
    assert users, f"{name(dockerfile)} runs as root"
    user = users[-1].arguments.split(":")[0]
    assert user.isdigit() and int(user) != 0, users[-1]


def test_the_healthcheck_asks_whether_the_process_is_live(dockerfile: Path) -> None:
    checks = only(stages(dockerfile)[-1], "HEALTHCHECK")
    assert len(checks) == 1, f"{name(dockerfile)} needs one HEALTHCHECK"
    assert "/health/live" in checks[0].arguments
    assert "--interval=" in checks[0].arguments and "--timeout=" in checks[0].arguments


def test_the_service_stops_gracefully_on_sigterm(dockerfile: Path) -> None:
    runtime = stages(dockerfile)[-1]
    assert [s.arguments for s in only(runtime, "STOPSIGNAL")] == ["SIGTERM"]
    commands = only(runtime, "CMD")
    assert len(commands) == 1
    # Exec form: the service is PID 1 and receives SIGTERM itself, not a shell in between.
    command = json.loads(commands[0].arguments)
    assert isinstance(command, list) and command[0] == "python", command
    assert not only(runtime, "ENTRYPOINT"), "an ENTRYPOINT would stand between the signal and CMD"


def test_no_secret_is_baked_into_an_image(dockerfile: Path) -> None:
    for instruction in instructions(dockerfile):
        if instruction.keyword in ("ENV", "ARG"):
            for assignment in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=", instruction.arguments):
                assert not SECRET_NAME.search(assignment), f"{instruction}: a secret in the image"
        if instruction.keyword in ("COPY", "ADD"):
            sources = instruction.arguments.split()[:-1]
            assert not any(".env" in source or source == "." for source in sources), instruction
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignore and ".venv" in ignore
