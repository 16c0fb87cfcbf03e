"""What the law owes customers about their consents: opt-out confirmations within 14 days
and the 2-year reconfirmation notices of advertising consents, sent daily."""

import time

import dagster as dg

from ums_pipelines.customers.confirm import confirm_opt_outs, confirmations_due
from ums_pipelines.customers.reconfirm import reconfirmations_due, send_reconfirm_notices
from ums_pipelines.resources import UmsResource
from ums_pipelines.store.engine import utcnow

__all__ = ["ASSETS", "CHECKS"]

OWNERS = ["team:messaging-ops"]
KINDS = {"python", "sqlalchemy"}


@dg.asset(
    group_name="compliance",
    owners=OWNERS,
    kinds=KINDS,
    description="Opt-out confirmations (within 14 days, Network Act art. 50): each active,"
    " unconfirmed opt-out confirmed once through the intake with UMS_OPTOUT_CONFIRM_TEMPLATE;"
    " skipped while that is unset. Metadata: queued, refused, still due, overdue.",
)
def optout_confirmations(ums: UmsResource) -> dg.MaterializeResult[None]:
    started = time.monotonic()
    settings = ums.settings()
    template = settings.optout_confirm_template
    metadata: dict[str, object] = {"template": template or ""}
    with ums.open_store() as store:
        ums.authorize(store, "optout.confirm")
        if template:
            result = confirm_opt_outs(store, settings, template)
            metadata |= {"submitted": result.submitted, "refused": result.refused}
        else:
            metadata["skipped"] = "UMS_OPTOUT_CONFIRM_TEMPLATE is not set"
        now = utcnow()
        with store.reading() as session:
            due = confirmations_due(session)
    metadata |= {
        "still_due": len(due),
        "overdue": sum(1 for _, at in due if at < now),
        "seconds": round(time.monotonic() - started, 3),
    }
    return dg.MaterializeResult(metadata=metadata)  # type: ignore[arg-type]


@dg.asset(
    group_name="compliance",
    owners=OWNERS,
    kinds=KINDS,
    description="2-year reconfirmation notices: each customer whose advertising consent"
    " lapses within UMS_AD_RECONFIRM_NOTICE_DAYS told once (per consent date) through the"
    " intake with UMS_CONSENT_RECONFIRM_TEMPLATE; skipped while that is unset.",
)
def consent_reconfirm_notices(ums: UmsResource) -> dg.MaterializeResult[None]:
    started = time.monotonic()
    settings = ums.settings()
    template = settings.consent_reconfirm_template
    metadata: dict[str, object] = {"template": template or ""}
    with ums.open_store() as store:
        ums.authorize(store, "consent.reconfirm")
        if template:
            result = send_reconfirm_notices(store, settings, template)
            metadata |= {
                "submitted": result.submitted,
                "sent_earlier": result.already,
                "refused": result.refused,
            }
        else:
            metadata["skipped"] = "UMS_CONSENT_RECONFIRM_TEMPLATE is not set"
        with store.reading() as session:
            due = reconfirmations_due(session, settings)
    metadata |= {
        "due": len(due),
        "pending": sum(1 for d in due if d.state == "pending"),
        "seconds": round(time.monotonic() - started, 3),
    }
    return dg.MaterializeResult(metadata=metadata)  # type: ignore[arg-type]


ASSETS = [optout_confirmations, consent_reconfirm_notices]
CHECKS: list[dg.AssetChecksDefinition] = []
