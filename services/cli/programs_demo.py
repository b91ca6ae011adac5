"""The programs part of the Barabai case: the quarter's sessions through the programs API.

Every session report of the scenario becomes a request, made with the key of whoever
records it: the partner agency for items it is (co-)responsible for, the facility's staff
for the facility's own items. The attendance is people of the imported roster in custody on
the day. The programs service publishes `sinergi.session.*` facts; the agreements service
moves the realisation from them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from services.cli.identity_client import Inmate
from services.cli.loading import LoadedIds
from services.cli.programs_client import ProgramsClient, RealisationReport, SalesReport
from services.cli.scenario import (
    ActionPlanItem,
    Activity,
    ItemKey,
    Sale,
    Scenario,
    latest_reports,
)
from services.cli.service_client import ApiError

CATCH_UP_TIMEOUT_S = 30.0
# Refusals that only mean the programs service has not yet read the other services' facts.
NOT_YET_KNOWN = ("no_agreement_in_force", "item_mismatch", "not_in_custody")

Action = Literal["hold", "correct", "cancel", "schedule_and_cancel"]
STAFF = None  # the recorder of the facility's own items


class ScenarioMismatch(RuntimeError):
    """The scenario asks for something the roster or the counting rules cannot give."""


@dataclass(frozen=True)
class SessionCall:
    """One request for one session report, and who makes it (a partner code, or staff)."""

    activity: Activity
    recorder: str | None
    action: Action
    body: dict[str, Any]


@dataclass(frozen=True)
class ProgramsFigures:
    calls: int
    by_recorder: dict[str, int]
    rules: dict[ItemKey, str]
    report: RealisationReport
    sales: dict[str, SalesReport]  # by month
    seconds: float


@dataclass(frozen=True)
class MonthSales:
    sales: int
    quantity: int
    total_idr: int


def counting_rules(scenario: Scenario, kind_rules: Mapping[str, str]) -> dict[ItemKey, str]:
    """What a held session adds to each item: its own rule, else its programme kind's."""
    rules = {}
    for agreement in scenario.all_agreements:
        for item in agreement.action_plan:
            rule = item.counts or kind_rules.get(item.programme_kind)
            if rule is None:
                raise ScenarioMismatch(f"the programs service has no kind {item.programme_kind}")
            rules[(agreement.key, item.key)] = rule
    return rules


def recorder_of(scenario: Scenario, item: ActionPlanItem, agreement_key: str) -> str | None:
    """The partner records the sessions of items it is responsible for, alone or with staff."""
    if item.responsible == "facility":
        return STAFF
    return scenario.agreement(agreement_key).partner


def attendance(
    activity: Activity, people: Sequence[Inmate], facility: str, start: int
) -> list[str]:
    """``participant_count`` people in custody on the day, taken round-robin from ``start``."""
    present = [p.id for p in people if p.in_custody(facility, activity.held_on)]
    wanted = activity.participant_count
    if wanted > len(present):
        raise ScenarioMismatch(
            f"session {activity.session_id} on {activity.held_on} has {wanted} participants; "
            f"only {len(present)} people of the roster are in custody that day"
        )
    if not wanted:
        return []
    offset = start % len(present)
    return (present[offset:] + present[:offset])[:wanted]


def plan_sessions(
    scenario: Scenario,
    ids: LoadedIds,
    rules: Mapping[ItemKey, str],
    people: Sequence[Inmate],
) -> list[SessionCall]:
    """The requests, in order: every session's first report before its corrections."""
    calls: list[SessionCall] = []
    seen: set[str] = set()
    reports = sorted(scenario.activities, key=lambda a: (a.sequence, a.held_on, a.session_id))
    for index, activity in enumerate(reports):
        agreement = scenario.agreement(activity.agreement)
        item = agreement.item(activity.item)
        key = (agreement.key, item.key)
        recorder = recorder_of(scenario, item, agreement.key)
        first = activity.session_id not in seen
        seen.add(activity.session_id)
        if activity.status == "cancelled":
            reason = activity.reason or "dibatalkan"
            body: dict[str, Any] = {"reason": reason}
            if first:
                body = {
                    **_session_terms(ids, key, item, activity.agreement),
                    "scheduled_on": activity.held_on.isoformat(),
                    "reason": reason,
                }
            action: Action = "schedule_and_cancel" if first else "cancel"
            calls.append(SessionCall(activity, recorder, action, body))
            continue
        held: dict[str, Any] = {
            "held_on": activity.held_on.isoformat(),
            "attendance": attendance(activity, people, scenario.facility.code, index * 7),
        }
        if rules[key] == "reported":
            held["delivered_quantity"] = activity.delivered_quantity
        if first:
            body = {**_session_terms(ids, key, item, activity.agreement), **held}
            calls.append(SessionCall(activity, recorder, "hold", body))
        else:
            calls.append(SessionCall(activity, recorder, "correct", held))
    return calls


def _session_terms(
    ids: LoadedIds, key: ItemKey, item: ActionPlanItem, agreement_key: str
) -> dict[str, Any]:
    return {
        "agreement_id": ids.agreements[agreement_key],
        "programme_kind": item.programme_kind,
        "action_plan_item_id": ids.items[key],
    }


class Recorders:
    """A programs client per API key: staff, and every partner agency."""

    def __init__(self, base_url: str, staff_key: str, partner_keys: Mapping[str, str]) -> None:
        self.staff = ProgramsClient(base_url, staff_key)
        self.partners = {code: ProgramsClient(base_url, key) for code, key in partner_keys.items()}

    def of(self, recorder: str | None) -> ProgramsClient:
        return self.staff if recorder is STAFF else self.partners[recorder]

    def close(self) -> None:
        for client in (self.staff, *self.partners.values()):
            client.close()


def sale_body(ids: LoadedIds, sale: Sale) -> dict[str, Any]:
    return {
        "agreement_id": ids.agreements[sale.agreement],
        "sold_on": sale.sold_on.isoformat(),
        "buyer_type": sale.buyer_type,
        "lines": [line.model_dump() for line in sale.lines],
    }


def record_sales(recorders: Recorders, scenario: Scenario, ids: LoadedIds) -> None:
    """Each sale by the partner of its agreement (the trade office runs the outlet)."""
    for sale in scenario.sales:
        client = recorders.of(scenario.agreement(sale.agreement).partner)
        body = sale_body(ids, sale)
        _until_known(functools.partial(client.record_sale, body), CATCH_UP_TIMEOUT_S)


def expected_sales(scenario: Scenario) -> dict[str, MonthSales]:
    """Per month: how many sales, how many pieces, and their value in rupiah."""
    months: dict[str, MonthSales] = {}
    for sale in scenario.sales:
        month = _month(sale.sold_on)
        known = months.get(month, MonthSales(0, 0, 0))
        months[month] = MonthSales(
            known.sales + 1,
            known.quantity + sum(line.quantity for line in sale.lines),
            known.total_idr + sum(line.quantity * line.unit_price_idr for line in sale.lines),
        )
    return months


def record(
    recorders: Recorders,
    calls: Sequence[SessionCall],
    step: Callable[[SessionCall], None] = lambda _: None,
    timeout_s: float = CATCH_UP_TIMEOUT_S,
) -> dict[str, str]:
    """Makes every call; returns the service's session id of every scenario session id."""
    session_ids: dict[str, str] = {}
    for call in calls:
        client = recorders.of(call.recorder)
        _until_known(functools.partial(_make, client, call, session_ids), timeout_s)
        step(call)
    return session_ids


def _make(client: ProgramsClient, call: SessionCall, session_ids: dict[str, str]) -> None:
    scenario_id = call.activity.session_id
    if call.action == "hold":
        session_ids[scenario_id] = client.create_session(call.body)
    elif call.action == "correct":
        client.record_held(session_ids[scenario_id], call.body)
    elif call.action == "schedule_and_cancel":
        body = {k: v for k, v in call.body.items() if k != "reason"}
        session_ids[scenario_id] = client.create_session(body)
        client.cancel(session_ids[scenario_id], call.body["reason"])
    else:
        client.cancel(session_ids[scenario_id], call.body["reason"])


def _until_known(request: Callable[[], object], timeout_s: float) -> None:
    """Retries while the refusal means the agreements or identity facts are still on their way."""
    started = time.monotonic()
    while True:
        try:
            request()
            return
        except ApiError as error:
            late = error.status == 422 and error.detail.startswith(NOT_YET_KNOWN)
            if not late or time.monotonic() - started > timeout_s:
                raise
            time.sleep(0.2)


def wait_for_items(
    client: ProgramsClient, ids: LoadedIds, timeout_s: float = CATCH_UP_TIMEOUT_S
) -> float:
    """Seconds until the programs service knows every action-plan item from the agreements."""
    started = time.monotonic()
    wanted = set(ids.items.values())
    while True:
        known = {item.item_id for item in client.realisation().items if item.target}
        if wanted <= known:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise RuntimeError(
                f"the programs service knows {len(wanted & known)} of {len(wanted)} action-plan "
                f"items after {timeout_s:.0f} s"
            )
        time.sleep(0.2)


def play_programs(
    recorders: Recorders,
    scenario: Scenario,
    ids: LoadedIds,
    people: Sequence[Inmate],
    step: Callable[[SessionCall], None] = lambda _: None,
) -> ProgramsFigures:
    started = time.monotonic()
    kinds = {kind.code: kind.quantity_rule for kind in recorders.staff.kinds()}
    rules = counting_rules(scenario, kinds)
    calls = plan_sessions(scenario, ids, rules, people)
    wait_for_items(recorders.staff, ids)
    record(recorders, calls, step)
    record_sales(recorders, scenario, ids)
    by_recorder: dict[str, int] = {}
    for call in calls:
        name = call.recorder or "staff"
        by_recorder[name] = by_recorder.get(name, 0) + 1
    return ProgramsFigures(
        calls=len(calls),
        by_recorder=by_recorder,
        rules=rules,
        report=recorders.staff.realisation(),
        sales={month: recorders.staff.sales_report(month) for month in expected_sales(scenario)},
        seconds=time.monotonic() - started,
    )


def expected_months(scenario: Scenario) -> dict[ItemKey, dict[str, int]]:
    """Per item, the quantity of its held sessions by month (the programs report's months)."""
    months: dict[ItemKey, dict[str, int]] = {}
    for activity in latest_reports(scenario).values():
        if activity.status != "held":
            continue
        per_item = months.setdefault((activity.agreement, activity.item), {})
        month = _month(activity.held_on)
        per_item[month] = per_item.get(month, 0) + activity.delivered_quantity
    return months


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
