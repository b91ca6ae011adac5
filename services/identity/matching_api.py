"""HTTP API of matching jobs: start one (registration role), follow its progress, list them."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from services.identity import schemas
from services.identity.container import Container
from services.identity.matching import MatchingService
from shared.http.auth import Principal, Role
from shared.http.problems import Problem, problem_responses


def build_matching_router(c: Container, jobs: MatchingService) -> APIRouter:
    router = APIRouter(
        prefix="/matching",
        tags=["matching"],
        responses=problem_responses(400, 401, 403, 404, 409, 422),
    )
    CurrentPrincipal = Annotated[Principal, Depends(c.principal)]

    def registration(principal: CurrentPrincipal) -> Principal:
        if principal.role is not Role.REGISTRATION:
            raise Problem(403, "Forbidden", "only the registration role starts matching jobs")
        return principal

    def reader(principal: CurrentPrincipal) -> Principal:
        if principal.role is Role.PARTNER:
            raise Problem(403, "Forbidden", "partner agencies have no access to matching jobs")
        return principal

    Registration = Annotated[Principal, Depends(registration)]
    Reader = Annotated[Principal, Depends(reader)]

    def facility_of(principal: Principal, requested: str | None) -> str:
        facility = requested or principal.facility or c.settings.facility
        if principal.facility and facility != principal.facility:
            raise Problem(403, "Forbidden", f"this key serves facility {principal.facility}")
        return facility

    @router.post(
        "/jobs",
        status_code=202,
        responses={409: {"description": "No agreement in force covers NIK matching"}},
    )
    async def start(
        body: schemas.MatchingJobCreate, principal: Registration
    ) -> schemas.MatchingJobAccepted:
        """Check people's NIKs against the civil registry, in the background.

        Needs an agreement with the civil registry in force today that covers NIK matching
        (409 "No legal basis" otherwise: nothing is sent).
        """
        job_id = await jobs.start_job(
            facility_of(principal, body.facility), body.purpose, principal.name, body.person_ids
        )
        return schemas.MatchingJobAccepted(job_id=job_id)

    @router.get("/jobs/{job_id}")
    async def progress(job_id: str, principal: Reader) -> schemas.MatchingJobPublic:
        """A job's progress: items pending, sent and done, outcomes, status, breaker state."""
        found = await run_in_threadpool(jobs.job_progress, job_id)
        if found is None or (principal.facility and principal.facility != found.facility):
            raise Problem(404, "Not Found", f"matching job {job_id} not found")
        return schemas.MatchingJobPublic(**asdict(found))

    @router.get("/jobs")
    async def list_jobs(
        principal: Reader,
        facility: str | None = None,
        status: str | None = Query(default=None, pattern="^(running|completed|cancelled)$"),
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> schemas.MatchingJobsPublic:
        """The facility's jobs, newest first."""
        found = await run_in_threadpool(
            jobs.list_jobs, facility_of(principal, facility), status, limit
        )
        data = [schemas.MatchingJobPublic(**asdict(job)) for job in found]
        return schemas.MatchingJobsPublic(data=data, count=len(data))

    return router
