"""Lead facts for the analytics tests: SMB leads in NA owned by one rep."""

from __future__ import annotations

import datetime as dt

from ttfr.models import LeadFact


def smb_facts(rows: list[tuple[str, int]]) -> None:
    """One fact per (lead source, days ago); the n-th answered in 10 + n minutes."""
    now = dt.datetime.now(dt.UTC)
    for n, (source, days_ago) in enumerate(rows):
        LeadFact.objects.create(
            lead_id=f"00Q5f0000000{n:03d}AAA",
            created_at=now - dt.timedelta(days=days_ago),
            owner_id="0055f0000000001AAA",
            team="NA",
            segment="SMB",
            region="NA",
            lead_source=source,
            ttfr_minutes=10.0 + n,
            business_minutes=10.0 + n,
        )
