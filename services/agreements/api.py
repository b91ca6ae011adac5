"""HTTP API of the agreements service: requests become commands; errors become problems."""

import csv
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from services.agreements import commands, domain, handlers, schemas, views
from services.agreements.container import Container
from services.agreements.repository import ConcurrencyError
from shared.http.auth import Principal, Role
from shared.http.problems import Problem, problem_response, problem_responses

CONFLICTS = (domain.OverlapError, domain.InvalidTransitionError, domain.RenewalError)


def build_router(c: Container) -> APIRouter:
    router = APIRouter(responses=problem_responses(400, 401, 403, 404, 409, 422))
    CurrentPrincipal = Annotated[Principal, Depends(c.principal)]

    def staff(principal: CurrentPrincipal) -> Principal:
        if principal.role is not Role.STAFF:
            raise Problem(
                403, "Forbidden", f"role {principal.role.value} may not change agreements"
            )
        return principal

    Staff = Annotated[Principal, Depends(staff)]

    def facility_of(principal: Principal, requested: str | None) -> str:
        facility = requested or principal.facility or c.settings.facility
        if principal.facility and facility != principal.facility:
            raise Problem(403, "Forbidden", f"this key serves facility {principal.facility}")
        return facility

    def visible_agreement(principal: Principal, agreement_id: str) -> None:
        code = views.agreement_partner_code(c.engine, agreement_id)
        if code is None or not principal.sees_partner(code):
            raise Problem(404, "Not Found", f"agreement {agreement_id} not found")

    # --- partners ---------------------------------------------------------------------------

    @router.post("/partners", status_code=201, tags=["partners"])
    def register_partner(body: schemas.PartnerCreate, principal: Staff) -> schemas.Created:
        """Register a partner agency (SKPD or other) of a facility."""
        partner_id = handlers.register_partner(
            commands.RegisterPartner(
                facility=facility_of(principal, body.facility),
                code=body.code,
                name=body.name,
                kind=body.kind,
                sectors=tuple(body.sectors) if body.sectors is not None else None,
            ),
            c.uow(),
        )
        return schemas.Created(id=partner_id)

    @router.get("/partners", tags=["partners"])
    def list_partners(
        principal: CurrentPrincipal, facility: str | None = None
    ) -> list[schemas.PartnerPublic]:
        """List partners; a partner agency sees only itself."""
        own = principal.partner if principal.role is Role.PARTNER else None
        return views.list_partners(c.engine, facility or principal.facility, own)

    @router.get("/partners/{partner_id}", tags=["partners"])
    def get_partner(partner_id: str, principal: CurrentPrincipal) -> schemas.PartnerPublic:
        """One partner."""
        partner = views.get_partner(c.engine, partner_id)
        if partner is None or not principal.sees_partner(partner.code):
            raise Problem(404, "Not Found", f"partner {partner_id} not found")
        return partner

    @router.patch("/partners/{partner_id}", status_code=204, tags=["partners"])
    def update_partner(partner_id: str, body: schemas.PartnerUpdate, _: Staff) -> None:
        """Rename a partner or change the programme kinds it may cover."""
        handlers.update_partner(
            commands.UpdatePartner(
                partner_id, body.name, tuple(body.sectors) if body.sectors is not None else None
            ),
            c.uow(),
        )

    # --- agreements -------------------------------------------------------------------------

    @router.post("/agreements", status_code=201, tags=["agreements"])
    def draft_agreement(body: schemas.AgreementCreate, principal: Staff) -> schemas.Created:
        """Draft an agreement (PKS) with a partner."""
        agreement_id = handlers.draft_agreement(
            commands.DraftAgreement(
                facility=facility_of(principal, body.facility),
                partner_id=body.partner_id,
                facility_number=body.facility_number,
                partner_number=body.partner_number,
                title=body.title,
                programme_kinds=tuple(body.programme_kinds),
                start_date=body.start_date,
                end_date=body.end_date,
            ),
            c.uow(),
        )
        return schemas.Created(id=agreement_id)

    @router.get("/agreements", tags=["agreements"])
    def list_agreements(
        principal: CurrentPrincipal,
        status: domain.AgreementStatus | None = None,
        partner: str | None = Query(default=None, description="Partner code."),
        expiring_within_days: int | None = Query(default=None, ge=0, le=3650),
        facility: str | None = None,
        offset: int = Query(default=0, ge=0, le=1_000_000_000),  # a bound SQL can bind
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> schemas.AgreementsPublic:
        """List agreements by status, partner, or those ending within N days."""
        if principal.role is Role.PARTNER:
            if partner is not None and partner != principal.partner:
                return schemas.AgreementsPublic(data=[], count=0)
            partner = principal.partner
        return views.list_agreements(
            c.engine,
            views.AgreementFilter(
                facility=facility or principal.facility,
                status=status,
                partner_code=partner,
                expiring_within_days=expiring_within_days,
                today=c.calendar.today(),
                offset=offset,
                limit=limit,
            ),
        )

    @router.get("/agreements/{agreement_id}", tags=["agreements"])
    def get_agreement(agreement_id: str, principal: CurrentPrincipal) -> schemas.AgreementDetail:
        """An agreement with its signatories, amendments, action plan and documents."""
        visible_agreement(principal, agreement_id)
        detail = views.agreement_detail(c.engine, agreement_id)
        if detail is None:
            raise Problem(404, "Not Found", f"agreement {agreement_id} not found")
        return detail

    @router.post("/agreements/{agreement_id}/sign", status_code=204, tags=["agreements"])
    def sign_agreement(agreement_id: str, body: schemas.SignRequest, _: Staff) -> None:
        """Record the signing; an agreement whose start date has come becomes active."""
        handlers.sign_agreement(
            commands.SignAgreement(
                agreement_id,
                body.signed_on,
                tuple(
                    commands.SignatoryInput(s.party, s.name, s.position) for s in body.signatories
                ),
            ),
            c.uow(),
            c.calendar,
        )

    @router.post("/agreements/{agreement_id}/terminate", status_code=204, tags=["agreements"])
    def terminate_agreement(agreement_id: str, body: schemas.TerminateRequest, _: Staff) -> None:
        """End an agreement early, with the reason."""
        handlers.terminate_agreement(
            commands.TerminateAgreement(agreement_id, body.reason, body.terminated_on), c.uow()
        )

    @router.post("/agreements/{agreement_id}/renewals", status_code=201, tags=["agreements"])
    def draft_renewal(agreement_id: str, body: schemas.RenewalCreate, _: Staff) -> schemas.Created:
        """Draft the agreement that continues this one (perpanjangan) with the same partner."""
        prior = views.agreement_detail(c.engine, agreement_id)
        if prior is None:
            raise Problem(404, "Not Found", f"agreement {agreement_id} not found")
        renewal_id = handlers.draft_agreement(
            commands.DraftAgreement(
                facility=prior.facility,
                partner_id=prior.partner_id,
                facility_number=body.facility_number,
                partner_number=body.partner_number,
                title=body.title or prior.title,
                programme_kinds=tuple(body.programme_kinds or prior.programme_kinds),
                start_date=body.start_date,
                end_date=body.end_date,
                renews=agreement_id,
            ),
            c.uow(),
        )
        return schemas.Created(id=renewal_id)

    @router.post("/agreements/{agreement_id}/amendments", status_code=201, tags=["agreements"])
    def amend_agreement(
        agreement_id: str, body: schemas.AmendmentCreate, _: Staff
    ) -> schemas.AmendmentPublic:
        """Record an amendment (adendum): a new version with its rationale."""
        number = handlers.amend_agreement(
            commands.AmendAgreement(
                agreement_id,
                body.rationale,
                body.effective_on,
                body.title,
                tuple(body.programme_kinds) if body.programme_kinds is not None else None,
                body.end_date,
            ),
            c.uow(),
            c.calendar,
        )
        detail = views.agreement_detail(c.engine, agreement_id)
        assert detail is not None
        return detail.amendments[number - 1]

    # --- action plan ------------------------------------------------------------------------

    @router.post(
        "/agreements/{agreement_id}/action-plan/items", status_code=201, tags=["action plan"]
    )
    def add_action_plan_item(
        agreement_id: str, body: schemas.ActionPlanItemCreate, _: Staff
    ) -> schemas.Created:
        """Add an item (target, unit, period, responsible side) to the agreement's action plan."""
        item_id = handlers.add_action_plan_item(
            commands.AddActionPlanItem(
                agreement_id,
                body.programme_kind,
                body.description,
                body.target_quantity,
                body.unit,
                body.period_start,
                body.period_end,
                body.responsible,
                body.counts,
            ),
            c.uow(),
        )
        return schemas.Created(id=item_id)

    # --- documents --------------------------------------------------------------------------

    @router.post("/agreements/{agreement_id}/documents", status_code=201, tags=["documents"])
    async def attach_document(
        agreement_id: str,
        principal: CurrentPrincipal,
        file: Annotated[UploadFile, File(description="The signed agreement, an annex...")],
        name: Annotated[str | None, Form(max_length=255)] = None,
    ) -> schemas.DocumentPublic:
        """Attach a document; it is stored once per content (sha256)."""
        if not principal.can_write:
            raise Problem(403, "Forbidden", f"role {principal.role.value} may not attach documents")
        visible_agreement(principal, agreement_id)
        content = await file.read(c.settings.agreements_max_document_bytes + 1)
        if len(content) > c.settings.agreements_max_document_bytes:
            raise Problem(
                413,
                "Content Too Large",
                f"documents are limited to {c.settings.agreements_max_document_bytes} bytes",
            )
        command = commands.AttachDocument(
            agreement_id,
            name or file.filename or "document",
            file.content_type or "application/octet-stream",
            content,
        )
        document = await run_in_threadpool(handlers.attach_document, command, c.uow(), c.documents)
        return schemas.DocumentPublic(
            name=document.name,
            media_type=document.media_type,
            sha256=document.sha256,
            size_bytes=document.size_bytes,
        )

    @router.get(
        "/agreements/{agreement_id}/documents/{sha256}",
        tags=["documents"],
        response_class=FileResponse,
    )
    def download_document(
        agreement_id: str, sha256: str, principal: CurrentPrincipal
    ) -> FileResponse:
        """Download an attached document."""
        visible_agreement(principal, agreement_id)
        detail = views.agreement_detail(c.engine, agreement_id)
        document = (
            next((d for d in detail.documents if d.sha256 == sha256), None) if detail else None
        )
        if document is None or not c.documents.path(sha256).exists():
            raise Problem(
                404, "Not Found", f"document {sha256} not found on agreement {agreement_id}"
            )
        return FileResponse(
            c.documents.path(sha256), media_type=document.media_type, filename=document.name
        )

    # --- reports and calendar ---------------------------------------------------------------

    @router.get(
        "/reports/realisation",
        tags=["reports"],
        responses={200: {"content": {"text/csv": {}}}},
    )
    def realisation_report(
        principal: CurrentPrincipal,
        agreement_id: str | None = None,
        partner: str | None = Query(default=None, description="Partner code."),
        facility: str | None = None,
        format: Literal["json", "csv"] = "json",
    ) -> Response:
        """Realisation of every action-plan item against its target, per agreement and partner."""
        if principal.role is Role.PARTNER:
            if partner is not None and partner != principal.partner:
                raise Problem(404, "Not Found", f"partner {partner} not found")
            partner = principal.partner
        report = views.realisation_report(
            c.engine,
            facility=facility or principal.facility,
            agreement_id=agreement_id,
            partner_code=partner,
        )
        if format == "csv":
            return Response(
                _csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="realisation.csv"'},
            )
        return JSONResponse(report.model_dump(mode="json"))

    @router.post("/calendar/advance", tags=["calendar"])
    def advance_calendar(_: Staff) -> schemas.ClockTick:
        """Run the daily transitions now (the service also runs them on a timer)."""
        changed = handlers.advance_calendar(c.uow, c.calendar)
        return schemas.ClockTick(today=c.calendar.today(), changed=changed)

    return router


def _csv(report: schemas.RealisationReport) -> str:
    out = io.StringIO()
    fields = list(schemas.RealisationRow.model_fields)
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for row in report.rows:
        writer.writerow(row.model_dump(mode="json"))
    return out.getvalue()


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
