"""HTTP API of the identity service: the roster, NIK entry and review, lists and reports."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, File, Query, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from services.identity import commands, domain, handlers, schemas, views
from services.identity.container import Container
from services.identity.legal_basis import NoLegalBasisError
from services.identity.repository import ConcurrencyError
from services.identity.roster_import import import_roster
from shared.http.auth import Principal, Role
from shared.http.problems import Problem, problem_response, problem_responses

ROSTER_ROLES = frozenset({Role.STAFF, Role.REGISTRATION})


def build_router(c: Container) -> APIRouter:
    router = APIRouter(responses=problem_responses(400, 401, 403, 404, 409, 422))
    CurrentPrincipal = Annotated[Principal, Depends(c.principal)]

    def reader(principal: CurrentPrincipal) -> Principal:
        if principal.role is Role.PARTNER:
            raise Problem(403, "Forbidden", "partner agencies have no access to the roster")
        return principal

    def roster_keeper(principal: CurrentPrincipal) -> Principal:
        if principal.role not in ROSTER_ROLES:
            raise Problem(
                403, "Forbidden", f"role {principal.role.value} may not change the roster"
            )
        return principal

    def registration(principal: CurrentPrincipal) -> Principal:
        if principal.role is not Role.REGISTRATION:
            raise Problem(403, "Forbidden", "only the registration role handles NIKs")
        return principal

    Reader = Annotated[Principal, Depends(reader)]
    RosterKeeper = Annotated[Principal, Depends(roster_keeper)]
    Registration = Annotated[Principal, Depends(registration)]

    def facility_of(principal: Principal, requested: str | None) -> str:
        facility = requested or principal.facility or c.settings.facility
        if principal.facility and facility != principal.facility:
            raise Problem(403, "Forbidden", f"this key serves facility {principal.facility}")
        return facility

    def visible(principal: Principal, person_id: str) -> None:
        facility = views.facility_of(c.engine, person_id)
        if facility is None or (principal.facility and principal.facility != facility):
            raise Problem(404, "Not Found", f"person {person_id} not found")

    @router.post("/inmates", status_code=201, tags=["roster"])
    def admit(body: schemas.InmateCreate, principal: RosterKeeper) -> schemas.Admitted:
        """Admit a person into custody; possible duplicates are flagged, never merged."""
        admission = handlers.admit(
            commands.Admit(
                facility=facility_of(principal, body.facility),
                register_number=body.register_number,
                category=body.category,
                personal=domain.PersonalData(
                    name=body.name,
                    sex=body.sex,
                    birth_place=body.birth_place,
                    birth_date=body.birth_date,
                    mother_name=body.mother_name,
                    address=body.address,
                    aliases=tuple(body.aliases),
                ),
                admission_date=body.admission_date,
                nik=body.nik,
            ),
            c.uow(),
            c.vault,
        )
        return schemas.Admitted(
            id=admission.person_id,
            outcome=admission.outcome,
            possible_duplicates=list(admission.duplicates),
        )

    @router.get("/inmates", tags=["roster"])
    def list_inmates(
        principal: Reader,
        facility: str | None = None,
        custody_status: domain.CustodyStatus | None = None,
        nik_status: Annotated[list[domain.NikStatus] | None, Query()] = None,
        name: str | None = Query(default=None, max_length=255),
        offset: int = Query(default=0, ge=0, le=1_000_000_000),  # a bound SQL can bind
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> schemas.InmatesPublic:
        """The roster, with NIKs masked."""
        return views.list_inmates(
            c.engine,
            views.InmateFilter(
                facility=facility_of(principal, facility),
                custody_status=custody_status,
                nik_statuses=tuple(nik_status or ()),
                name=name,
                offset=offset,
                limit=limit,
            ),
        )

    @router.get("/inmates/{person_id}", tags=["roster"])
    def get_inmate(person_id: str, principal: Reader) -> schemas.InmatePublic:
        """One person, NIK masked."""
        visible(principal, person_id)
        inmate = views.get_inmate(c.engine, person_id)
        assert inmate is not None
        return inmate

    @router.post("/inmates/{person_id}/category", status_code=204, tags=["roster"])
    def change_category(
        person_id: str, body: schemas.CategoryChange, principal: RosterKeeper
    ) -> None:
        """Move a person to another register (a detainee sentenced becomes a convict)."""
        visible(principal, person_id)
        handlers.change_category(commands.ChangeCategory(person_id, body.category), c.uow())

    @router.post("/inmates/{person_id}/transfer", status_code=204, tags=["roster"])
    def transfer(person_id: str, body: schemas.TransferRequest, principal: RosterKeeper) -> None:
        """Transfer a person to another facility."""
        visible(principal, person_id)
        handlers.transfer(commands.Transfer(person_id, body.to_facility, body.on), c.uow())

    @router.post("/inmates/{person_id}/release", status_code=204, tags=["roster"])
    def release(person_id: str, body: schemas.ReleaseRequest, principal: RosterKeeper) -> None:
        """Release a person from custody."""
        visible(principal, person_id)
        handlers.release(commands.Release(person_id, body.on), c.uow())

    @router.put("/inmates/{person_id}/nik", tags=["nik"])
    def record_nik(
        person_id: str, body: schemas.NikEntry, principal: Registration
    ) -> schemas.NikStatusPublic:
        """Enter or correct a NIK (e.g. after a recording session); it is checked at once."""
        visible(principal, person_id)
        status = handlers.record_nik(
            commands.RecordNik(person_id, body.nik, principal.name), c.uow(), c.vault
        )
        return schemas.NikStatusPublic(nik_status=status)

    @router.get("/inmates/{person_id}/nik", tags=["nik"])
    def reveal_nik(
        person_id: str,
        principal: Registration,
        purpose: str = Query(min_length=3, max_length=255, description="Why the NIK is needed."),
    ) -> schemas.NikRevealed:
        """The NIK in clear, for the registration role; every read is audited."""
        visible(principal, person_id)
        return schemas.NikRevealed(
            nik=handlers.reveal_nik(person_id, principal.name, purpose, c.uow(), c.vault)
        )

    @router.post("/inmates/{person_id}/review", tags=["nik"])
    def review(
        person_id: str, body: schemas.ReviewRequest, principal: Registration
    ) -> schemas.NikStatusPublic:
        """Validate (pengesahan) or reject a matching result, with the reason."""
        visible(principal, person_id)
        status = handlers.review(
            commands.Review(person_id, principal.name, body.decision == "confirm", body.reason),
            c.uow(),
        )
        return schemas.NikStatusPublic(nik_status=status)

    @router.post("/roster/imports", status_code=201, tags=["roster"])
    async def import_file(
        principal: RosterKeeper,
        file: Annotated[UploadFile, File(description="CSV or XLSX with a header row")],
        facility: str | None = None,
    ) -> schemas.ImportReportPublic:
        """Import a roster file; the report gives, row by row, what was imported or refused."""
        limit = c.settings.identity_max_import_bytes
        content = await file.read(limit + 1)
        if len(content) > limit:
            raise Problem(413, "Content Too Large", f"roster files are limited to {limit} bytes")
        report = await run_in_threadpool(
            import_roster,
            content,
            file.filename or "roster.csv",
            facility=facility_of(principal, facility),
            actor=principal.name,
            uow_factory=c.uow,
            vault=c.vault,
        )
        public = views.import_report(c.engine, report.run_id)
        assert public is not None
        return public

    @router.get("/roster/imports/{run_id}", tags=["roster"])
    def get_import(run_id: str, _: Reader) -> schemas.ImportReportPublic:
        """The row-by-row report of an import."""
        report = views.import_report(c.engine, run_id)
        if report is None:
            raise Problem(404, "Not Found", f"import {run_id} not found")
        return report

    @router.get("/duplicates", tags=["roster"])
    def list_duplicates(
        principal: Reader, facility: str | None = None
    ) -> list[schemas.DuplicatePublic]:
        """Records flagged as possibly the same person, for review."""
        return views.duplicates(c.engine, facility_of(principal, facility))

    @router.get("/lists/needs-recording", tags=["lists"])
    def needs_recording(principal: Reader, facility: str | None = None) -> schemas.InmatesPublic:
        """People in custody with no registry record (or no NIK): to record (perekaman KTP-el)."""
        return views.list_inmates(
            c.engine,
            views.InmateFilter(
                facility=facility_of(principal, facility),
                nik_statuses=tuple(domain.NEEDS_RECORDING),
                in_custody_only=True,
                limit=1000,
            ),
        )

    @router.get("/lists/awaiting-review", tags=["lists"])
    def awaiting_review(principal: Reader, facility: str | None = None) -> schemas.InmatesPublic:
        """Matching results an officer has yet to validate or reject."""
        return views.list_inmates(
            c.engine,
            views.InmateFilter(
                facility=facility_of(principal, facility),
                nik_statuses=tuple(domain.REVIEWABLE),
                in_custody_only=True,
                limit=1000,
            ),
        )

    @router.get("/reports/nik-status", tags=["reports"])
    def nik_status_counts(principal: Reader, facility: str | None = None) -> schemas.StatusCounts:
        """How many people in custody are in each NIK status."""
        return views.status_counts(c.engine, facility_of(principal, facility))

    @router.get("/reports/usage", tags=["reports"])
    def usage(
        principal: Reader,
        period_start: date,
        period_end: date,
        facility: str | None = None,
    ) -> schemas.UsageReport:
        """Registry accesses per agreement and purpose (the semester report to Dukcapil)."""
        return views.usage_report(
            c.engine, facility_of(principal, facility), period_start, period_end
        )

    return router


def install_error_mapping(app: FastAPI) -> None:
    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, domain.IdentityError)
        return problem_response(
            request,
            422,
            "Refused",
            error.message,
            f"urn:sinergi:problem:{error.code}",
            extensions={"code": error.code},
        )

    async def missing(request: Request, error: Exception) -> Response:
        return problem_response(request, 404, "Not Found", str(error))

    async def conflict(request: Request, error: Exception) -> Response:
        return problem_response(
            request, 409, "Conflict", "changed by someone else meanwhile; reload and retry"
        )

    async def no_basis(request: Request, error: Exception) -> Response:
        return problem_response(
            request,
            409,
            "No legal basis",
            str(error),
            "urn:sinergi:problem:no_legal_basis",
            extensions={"code": "no_legal_basis"},
        )

    app.add_exception_handler(domain.IdentityError, refused)
    app.add_exception_handler(handlers.NotFoundError, missing)
    app.add_exception_handler(ConcurrencyError, conflict)
    app.add_exception_handler(NoLegalBasisError, no_basis)
