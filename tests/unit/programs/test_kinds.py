"""Programme kinds are data: the file the service seeds from, checked against its consumers."""

from __future__ import annotations

from services.agreements.domain import DEFAULT_SECTORS
from services.programs.config import KINDS_FILE
from services.programs.domain import OutcomeKind
from services.programs.kinds import load_kinds


def test_the_kinds_file_lists_exactly_the_sectors_partners_may_cover() -> None:
    codes = {kind.code for kind in load_kinds(KINDS_FILE)}

    assert codes == {code for sector in DEFAULT_SECTORS.values() for code in sector}


def test_certificates_and_exam_results_come_only_from_courses_and_classes() -> None:
    kinds = {kind.code: kind for kind in load_kinds(KINDS_FILE)}

    assert kinds["job_training"].outcome is OutcomeKind.CERTIFICATE
    assert kinds["equivalency_exam"].outcome is OutcomeKind.EXAM_RESULT
    assert all(kind.enrolment for kind in kinds.values() if kind.outcome is not None)
    assert all(kind.label_id and kind.label_en for kind in kinds.values())
