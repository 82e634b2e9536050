"""A campaign's report, the same from the CLI and the API: JSON of the issue's exact shape, or CSV.

JSON: ``{"campaign", "state", "counts": {status: n}, "contacts": [{"number", "status", "attempts", "sip_code",
"dtmf", "duration_s"}]}``; the CSV has one row per contact with the same columns. Contacts in the CSV's order;
numbers in E.164. Citizen data: only roles that read it get a report.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from callbot.store.campaigns import CampaignReport
from callbot.store.models import CampaignContact
from callbot.types import CampaignState, ContactStatus

CONTACT_FIELDS = ("number", "status", "attempts", "sip_code", "dtmf", "duration_s")


def contact_row(contact: CampaignContact) -> dict[str, Any]:
    return {
        "number": contact.number,
        "status": ContactStatus(contact.status).value,
        "attempts": contact.attempts,
        "sip_code": contact.sip_code,
        "dtmf": contact.dtmf,
        "duration_s": round(contact.duration_s, 1) if contact.duration_s is not None else None,
    }


def report_json(report: CampaignReport) -> dict[str, Any]:
    return {
        "campaign": report.campaign.name,
        "state": CampaignState(report.campaign.state).value,
        "counts": dict(report.counts),
        "contacts": [contact_row(contact) for contact in report.contacts],
    }


def report_csv(report: CampaignReport) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CONTACT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for contact in report.contacts:
        writer.writerow({key: "" if value is None else value for key, value in contact_row(contact).items()})
    return out.getvalue()


def summary(report: CampaignReport) -> str:
    """One line for a terminal: ``flu running: 12/40 final (confirmed 5, busy 2), 3 calling``."""
    shown = ", ".join(f"{status} {count}" for status, count in report.counts.items()
                      if count and status != ContactStatus.pending)
    return (f"{report.campaign.name} {CampaignState(report.campaign.state).value}: {report.final}/{report.total} "
            f"final ({shown or 'none yet'}), {report.in_flight} calling")
