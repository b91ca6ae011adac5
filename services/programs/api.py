"""HTTP API of the programs service: requests become commands; errors become problems."""

import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from services.programs import commands, domain, handlers, reports, schemas, views
from services.programs.container import Container
from services.programs.orm import EnrolmentRow, IdempotencyKeyRow, SessionRow, core_table
from services.programs.repository import ConcurrencyError
from services.programs.unit_of_work import UnitOfWork
from shared.http.auth import Principal, Role, credentials
from shared.http.direct import direct_body, direct_route
from shared.http.idempotency import (
    REPLAYED_HEADER,
    IdempotencyKeyHeader,
    IdempotencyStore,
    IdempotentRequest,
    idempotency_key,
)
from shared.http.problems import Problem, problem_response, problem_responses
from shared.persistence.calls import DatabaseCalls
from shared.persistence.engine import read_only

CONFLICTS = (domain.InvalidTransitionError, domain.DuplicateError)
WRITERS = frozenset({Role.STAFF, Role.PARTNER})
PERIOD_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"  # year 1000 on: a date exists


def build_router(c: Container) -> APIRouter:
    router = APIRouter(responses=problem_responses(400, 401, 403, 404, 409, 422))
    CurrentPrincipal = Annotated[Principal, Depends(c.principal)]

    # async: a check this small is cheaper on the event loop than a worker-thread hop
    async def writer(principal: CurrentPrincipal) -> Principal:
        if principal.role not in WRITERS:
            raise Problem(
                403, "Forbidden", f"role {principal.role.value} may not record programmes"
            )
        return principal

    Writer = Annotated[Principal, Depends(writer)]
    idempotency = IdempotencyStore(core_table(IdempotencyKeyRow))
    database = DatabaseCalls(c.engine, run_in_threadpool)

    def once(
        request: IdempotentRequest | None, create: Callable[[str, UnitOfWork], str]
    ) -> tuple[str, bool]:
        """Run `create(new id, unit of work)` unless this key already created a record:
        (the record's id, whether it is the first answer replayed)."""
        if (done := recorded(request)) is not None:
            return done, True
        new_id = str(uuid.uuid4())
        uow = c.uow()
        if request is not None:
            uow.before_commit.append(lambda s: idempotency.remember(s, request, new_id))
        try:
            return create(new_id, uow), False
        except ConcurrencyError:
            # a twin with the same key committed first: answer as it was answered
            if (done := recorded(request)) is not None:
                return done, True
            raise

    def recorded(request: IdempotentRequest | None) -> str | None:
        if request is None:
            return None
        with read_only(c.engine).connect() as connection:
            return idempotency.recorded(connection, request)

    def created(record_id: str, replayed: bool) -> Response:
        headers = {REPLAYED_HEADER: "true"} if replayed else None
        body = json.dumps({"id": record_id})
        return Response(body, status_code=201, media_type="application/json", headers=headers)

    def sees(principal: Principal, scope: tuple[str, str] | None) -> bool:
        if scope is None:
            return False
        facility, partner_code = scope
        return principal.sees_partner(partner_code) and principal.facility in (None, facility)

    def visible(principal: Principal, table: type[Any], what: str, record_id: str) -> None:
        if not sees(principal, views.record_scope(c.engine, table, record_id)):
            raise Problem(404, "Not Found", f"{what} {record_id} not found")

    def under_agreement(principal: Principal, agreement_id: str) -> None:
        """A partner records only under its own agreements (unknown ones are refused later)."""
        scope = views.agreement_scope(c.engine, agreement_id)
        if scope is not None and not sees(principal, scope):
            raise Problem(404, "Not Found", f"agreement {agreement_id} not found")

    def own_partner(principal: Principal, partner: str | None) -> str | None:
        if principal.role is not Role.PARTNER:
            return partner
        if partner is not None and partner != principal.partner:
            raise Problem(404, "Not Found", f"partner {partner} not found")
        return principal.partner

    def records(
        principal: Principal,
        partner: str | None,
        agreement_id: str | None,
        date_from: date | None,
        date_to: date | None,
        offset: int,
        limit: int,
        **more: Any,
    ) -> views.RecordFilter:
        return views.RecordFilter(
            facility=principal.facility,
            partner_code=own_partner(principal, partner),
            agreement_id=agreement_id,
            date_from=date_from,
            date_to=date_to,
            offset=offset,
            limit=limit,
            **more,
        )

    Partner = Annotated[str | None, Query(alias="partner", description="Partner code.")]
    From = Annotated[date | None, Query(alias="from")]
    To = Annotated[date | None, Query(alias="to")]
    Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]  # a bound SQL can bind
    Limit = Annotated[int, Query(ge=1, le=1000)]

    @router.get("/programme-kinds", tags=["programme kinds"])
    def list_programme_kinds(_: CurrentPrincipal) -> list[schemas.ProgrammeKindPublic]:
        """Programme kinds, their unit, how a session counts, and what they issue."""
        return views.list_kinds(c.engine)

    # --- sessions ---------------------------------------------------------------------------

    async def schedule_session(
        body: schemas.SessionCreate, principal: Writer, key: IdempotencyKeyHeader = None
    ) -> Response:
        """Schedule a session; with held_on, record it as held at once."""
        # documents the operation; requests are served by schedule_session_direct
        return await schedule_session_direct(body, principal, key)

    async def schedule_session_direct(
        body: schemas.SessionCreate, principal: Principal, key: str | None
    ) -> Response:
        # The busiest command: the use case on the event loop on SQLite (else one
        # worker-thread hop), and the answer written here rather than validated again
        # against the response model.
        request = (
            None if key is None else IdempotentRequest.of(principal.name, key, "sessions", body)
        )
        return created(*await database(_schedule_session, body, principal, request))

    async def serve_schedule_session(request: Request) -> Response:
        """What FastAPI's dependency solving would do for this signature, written out: the
        caller (401/403) first, then the Idempotency-Key and the body together (422)."""
        principal = await writer(await c.principal(*await credentials(request)))
        key, errors = idempotency_key(request)
        body = await direct_body(request, schemas.SessionCreate, errors)
        if errors or body is None:
            raise RequestValidationError(errors)
        return await schedule_session_direct(body, principal, key)

    router.add_api_route(
        "/sessions",
        schedule_session,
        methods=["POST"],
        status_code=201,
        response_model=schemas.Created,
        tags=["sessions"],
        route_class_override=direct_route(serve_schedule_session),
    )

    def _schedule_session(
        body: schemas.SessionCreate, principal: Principal, request: IdempotentRequest | None
    ) -> tuple[str, bool]:
        def authorize(agreement: domain.AgreementTerms) -> None:
            # as under_agreement, inside the command's transaction (one read fewer)
            if not sees(principal, (agreement.facility, agreement.partner_code)):
                raise Problem(404, "Not Found", f"agreement {agreement.agreement_id} not found")

        held = None
        if body.held_on is not None:
            held = commands.HeldReport(
                body.held_on, tuple(body.attendance), body.delivered_quantity
            )
        scheduled_on = body.scheduled_on or body.held_on
        assert scheduled_on is not None

        def schedule(new_id: str, uow: UnitOfWork) -> str:
            command = commands.ScheduleSession(
                body.agreement_id,
                body.programme_kind,
                scheduled_on,
                body.action_plan_item_id,
                held,
                new_id,
            )
            return handlers.schedule_session(command, uow, c.today, authorize)

        return once(request, schedule)

    @router.post("/sessions/{session_id}/held", status_code=204, tags=["sessions"])
    def record_held(session_id: str, body: schemas.SessionHeldRequest, principal: Writer) -> None:
        """Record a session as held, with who attended; again on a held session corrects it."""
        visible(principal, SessionRow, "session", session_id)
        report = commands.HeldReport(body.held_on, tuple(body.attendance), body.delivered_quantity)
        handlers.record_session_held(
            commands.RecordSessionHeld(session_id, report), c.uow(), c.today
        )

    @router.post("/sessions/{session_id}/cancel", status_code=204, tags=["sessions"])
    def cancel_session(
        session_id: str, body: schemas.SessionCancelRequest, principal: Writer
    ) -> None:
        """Cancel a session; a held one stops counting toward its action-plan item."""
        visible(principal, SessionRow, "session", session_id)
        handlers.cancel_session(commands.CancelSession(session_id, body.reason), c.uow())

    @router.get("/sessions", tags=["sessions"])
    def list_sessions(
        principal: CurrentPrincipal,
        partner: Partner = None,
        agreement_id: Annotated[str | None, Query(alias="agreement")] = None,
        status: domain.SessionStatus | None = None,
        date_from: From = None,
        date_to: To = None,
        overdue: bool | None = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> schemas.SessionsPublic:
        """Sessions by partner, agreement, status, dates; overdue=true: past and unrecorded."""
        return views.list_sessions(
            c.engine,
            views.SessionFilter(
                today=c.today(),
                facility=principal.facility,
                partner_code=own_partner(principal, partner),
                agreement_id=agreement_id,
                status=status,
                date_from=date_from,
                date_to=date_to,
                overdue=overdue,
                offset=offset,
                limit=limit,
            ),
        )

    @router.get("/sessions/{session_id}", tags=["sessions"])
    def get_session(session_id: str, principal: CurrentPrincipal) -> schemas.SessionDetail:
        """One session with its attendance."""
        visible(principal, SessionRow, "session", session_id)
        detail = views.get_session(c.engine, session_id, c.today())
        if detail is None:
            raise Problem(404, "Not Found", f"session {session_id} not found")
        return detail

    # --- enrolments and outcomes ------------------------------------------------------------

    @router.post("/enrolments", status_code=201, tags=["enrolments"])
    def enrol(body: schemas.EnrolmentCreate, principal: Writer) -> schemas.Created:
        """Enrol a person in custody in a course or class."""
        under_agreement(principal, body.agreement_id)
        enrolment_id = handlers.enrol(
            commands.Enrol(
                body.person_id, body.agreement_id, body.programme_kind, body.enrolled_on
            ),
            c.uow(),
        )
        return schemas.Created(id=enrolment_id)

    @router.post("/enrolments/{enrolment_id}/complete", tags=["enrolments"])
    def complete_enrolment(
        enrolment_id: str, body: schemas.EnrolmentComplete, principal: Writer
    ) -> schemas.CompletedEnrolment:
        """Complete an enrolment; with an outcome, issue the certificate or exam result too."""
        visible(principal, EnrolmentRow, "enrolment", enrolment_id)
        result = None
        if body.outcome is not None:
            o = body.outcome
            result = commands.OutcomeInput(o.passed, o.level, o.score)
        outcome_id = handlers.complete_enrolment(
            commands.CompleteEnrolment(enrolment_id, body.completed_on, result), c.uow()
        )
        return schemas.CompletedEnrolment(outcome_id=outcome_id)

    @router.post("/enrolments/{enrolment_id}/exit", status_code=204, tags=["enrolments"])
    def exit_enrolment(enrolment_id: str, body: schemas.EnrolmentExit, principal: Writer) -> None:
        """Record that a person left a course or class before completing it."""
        visible(principal, EnrolmentRow, "enrolment", enrolment_id)
        handlers.exit_enrolment(
            commands.ExitEnrolment(enrolment_id, body.exited_on, body.reason), c.uow()
        )

    @router.get("/enrolments", tags=["enrolments"])
    def list_enrolments(
        principal: CurrentPrincipal,
        partner: Partner = None,
        agreement_id: Annotated[str | None, Query(alias="agreement")] = None,
        person_id: Annotated[str | None, Query(alias="person")] = None,
        status: domain.EnrolmentStatus | None = None,
        date_from: From = None,
        date_to: To = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> schemas.EnrolmentsPublic:
        """Enrolments by partner, agreement, person, status and enrolment date."""
        f = records(
            principal, partner, agreement_id, date_from, date_to, offset, limit,
            person_id=person_id, status=status,
        )  # fmt: skip
        return views.list_enrolments(c.engine, f)

    @router.post("/outcomes", status_code=201, tags=["outcomes"])
    def issue_outcome(body: schemas.OutcomeCreate, principal: Writer) -> schemas.Created:
        """Issue a training certificate or an exam result; the person's NIK must be validated."""
        visible(principal, EnrolmentRow, "enrolment", body.enrolment_id)
        outcome_id = handlers.issue_outcome(
            commands.IssueOutcome(
                body.enrolment_id,
                body.issued_on,
                commands.OutcomeInput(body.passed, body.level, body.score),
            ),
            c.uow(),
        )
        return schemas.Created(id=outcome_id)

    @router.get("/outcomes", tags=["outcomes"])
    def list_outcomes(
        principal: CurrentPrincipal,
        partner: Partner = None,
        agreement_id: Annotated[str | None, Query(alias="agreement")] = None,
        person_id: Annotated[str | None, Query(alias="person")] = None,
        date_from: From = None,
        date_to: To = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> schemas.OutcomesPublic:
        """Certificates and exam results, by partner, agreement, person and issue date."""
        f = records(
            principal, partner, agreement_id, date_from, date_to, offset, limit,
            person_id=person_id,
        )  # fmt: skip
        return views.list_outcomes(c.engine, f)

    # --- sales ------------------------------------------------------------------------------

    @router.post("/sales", status_code=201, response_model=schemas.Created, tags=["sales"])
    def record_sale(
        body: schemas.SaleCreate, principal: Writer, key: IdempotencyKeyHeader = None
    ) -> Response:
        """Record a sale of inmates' products under the trade agreement (rupiah)."""
        under_agreement(principal, body.agreement_id)
        request = None if key is None else IdempotentRequest.of(principal.name, key, "sales", body)
        lines = tuple(
            commands.SaleLineInput(li.product, li.quantity, li.unit, li.unit_price_idr)
            for li in body.lines
        )

        def record(new_id: str, uow: UnitOfWork) -> str:
            command = commands.RecordSale(
                body.agreement_id, body.sold_on, body.buyer_type, lines, new_id
            )
            return handlers.record_sale(command, uow)

        return created(*once(request, record))

    @router.get("/sales", tags=["sales"])
    def list_sales(
        principal: CurrentPrincipal,
        partner: Partner = None,
        agreement_id: Annotated[str | None, Query(alias="agreement")] = None,
        date_from: From = None,
        date_to: To = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> schemas.SalesPublic:
        """Sales with their lines, by partner, agreement and date."""
        f = records(principal, partner, agreement_id, date_from, date_to, offset, limit)
        return views.list_sales(c.engine, f)

    @router.get("/reports/sales", tags=["reports"])
    def sales_report(
        principal: CurrentPrincipal,
        period: Annotated[str, Query(pattern=PERIOD_PATTERN, description="YYYY-MM")],
        partner: Partner = None,
    ) -> schemas.SalesReport:
        """A month's sales: total, and per partner, buyer type and product."""
        return views.sales_report(
            c.engine,
            period=period,
            facility=principal.facility,
            partner_code=own_partner(principal, partner),
        )

    # --- realisation, participation and sessions due (services/programs/reports.py) --------
    router.include_router(reports.build_router(c))
    return router


def install_error_mapping(app: FastAPI) -> None:
    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, domain.DomainError)
        status = 409 if isinstance(error, CONFLICTS) else 422
        return problem_response(
            request,
            status,
            "Refused",
            str(error),
            f"urn:sinergi:problem:{error.code}",
            extensions={"code": error.code},
        )

    async def missing(request: Request, error: Exception) -> Response:
        return problem_response(request, 404, "Not Found", str(error))

    async def conflict(request: Request, error: Exception) -> Response:
        return problem_response(
            request, 409, "Conflict", "changed by someone else meanwhile; reload and retry"
        )

    app.add_exception_handler(domain.DomainError, refused)
    app.add_exception_handler(handlers.NotFoundError, missing)
    app.add_exception_handler(ConcurrencyError, conflict)
