"""Which topology the e2e suite runs on: compose when a Docker engine answers, else processes."""

from __future__ import annotations

import pytest

from tests.e2e.processes import TOPOLOGY_VARIABLE, choose_topology


def test_compose_runs_the_suite_when_a_docker_engine_answers() -> None:
    assert choose_topology({}, lambda: True) == "compose"


def test_processes_run_the_suite_without_a_docker_engine() -> None:
    assert choose_topology({}, lambda: False) == "processes"


def test_the_variable_forces_either_topology_without_asking_docker() -> None:
    def never() -> bool:
        raise AssertionError("docker was asked")

    assert choose_topology({TOPOLOGY_VARIABLE: "processes"}, never) == "processes"
    assert choose_topology({TOPOLOGY_VARIABLE: " Compose "}, never) == "compose"


def test_an_unknown_topology_is_refused() -> None:
    with pytest.raises(ValueError, match="compose or processes"):
        choose_topology({TOPOLOGY_VARIABLE: "kubernetes"}, lambda: False)


def test_an_empty_variable_leaves_the_choice_to_docker() -> None:
    assert choose_topology({TOPOLOGY_VARIABLE: ""}, lambda: False) == "processes"
