"""Put a scenario into the agreements service over its HTTP API, as staff would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.cli.agreements_client import AgreementsClient
from services.cli.scenario import Agreement, ItemKey, Scenario

Step = Callable[[str], None]  # told what was just done, once per request


@dataclass
class LoadedIds:
    """Ids the service assigned, by the scenario's keys."""

    partners: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, str] = field(default_factory=dict)
    items: dict[ItemKey, str] = field(default_factory=dict)

    def agreement_key(self, agreement_id: str) -> str | None:
        return next((k for k, v in self.agreements.items() if v == agreement_id), None)

    def item_key(self, item_id: str) -> ItemKey | None:
        return next((k for k, v in self.items.items() if v == item_id), None)


def count_requests(scenario: Scenario) -> int:
    """How many requests :func:`load` makes (for a progress bar)."""
    per_agreement = sum(2 + len(a.action_plan) for a in scenario.all_agreements)
    return len(scenario.partners) + per_agreement


def load(client: AgreementsClient, scenario: Scenario, step: Step) -> LoadedIds:
    ids = LoadedIds()
    for partner in scenario.partners:
        ids.partners[partner.code] = client.register_partner(
            {
                "code": partner.code,
                "name": partner.name,
                "kind": partner.kind,
                "facility": scenario.facility.code,
            }
        )
        step(f"partner {partner.code}")
    # Priors first: a renewal can only be drafted from an agreement that was signed.
    for agreement in scenario.all_agreements:
        _load_agreement(client, scenario, agreement, ids, step)
    return ids


def _load_agreement(
    client: AgreementsClient, scenario: Scenario, agreement: Agreement, ids: LoadedIds, step: Step
) -> None:
    terms: dict[str, Any] = {
        "facility_number": agreement.facility_number,
        "partner_number": agreement.partner_number,
        "title": agreement.title,
        "programme_kinds": list(agreement.programme_kinds),
        "start_date": agreement.start_date.isoformat(),
        "end_date": agreement.end_date.isoformat(),
    }
    if agreement.renews is not None:
        agreement_id = client.draft_renewal(ids.agreements[agreement.renews], terms)
        step(f"renewal {agreement.facility_number} of {agreement.renews}")
    else:
        terms |= {"partner_id": ids.partners[agreement.partner], "facility": scenario.facility.code}
        agreement_id = client.draft_agreement(terms)
        step(f"agreement {agreement.facility_number}")
    ids.agreements[agreement.key] = agreement_id
    # The action plan is part of the agreement, so it is complete before the signing.
    for item in agreement.action_plan:
        body: dict[str, Any] = {
            "programme_kind": item.programme_kind,
            "description": item.description,
            "target_quantity": item.target_quantity,
            "unit": item.unit,
            "period_start": item.period_start.isoformat(),
            "period_end": item.period_end.isoformat(),
            "responsible": item.responsible,
        }
        if item.counts is not None:
            body["counts"] = item.counts
        ids.items[(agreement.key, item.key)] = client.add_action_plan_item(agreement_id, body)
        step(f"action plan item {item.key}")
    client.sign(
        agreement_id,
        {
            "signed_on": agreement.signed_on.isoformat(),
            "signatories": [
                {"party": s.party, "name": s.display_name, "position": s.position}
                for s in agreement.signatories
            ],
        },
    )
    step(f"signed {agreement.facility_number}")
