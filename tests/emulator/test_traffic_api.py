"""The traffic and truth control API of a running emulator, with the app's side played by REST."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from simple_salesforce import Salesforce

from sf_emulator.testing import EmulatorProcess, running_emulator

FAST_REPS = {"time_scale": 1e6, "business_hours": False, "never_rate": 0.0, "reassign_rate": 0.0}
FAST_REPS |= {"touch_before_rate": 0.0}


def poll(fetch: Callable[[], object], timeout: float = 5.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        assert time.monotonic() < deadline, "nothing arrived in time"
        time.sleep(0.05)


def test_traffic_creates_leads_with_ground_truth_and_stops(fresh_org: EmulatorProcess):
    started = fresh_org.control(
        "POST", "/__emulator__/traffic", json={"leads_per_min": 1200, "seed": 4, **FAST_REPS}
    )
    assert started.status_code == 200 and started.json()["running"] is True

    poll(lambda: fresh_org.control("GET", "/__emulator__/traffic").json()["leads_created"] >= 5)
    stopped = fresh_org.control("POST", "/__emulator__/traffic", json={"stop": True}).json()
    ids = fresh_org.control("GET", "/__emulator__/truth").json()["records"]
    lead_ids = [record["id"] for record in ids]

    assert stopped["running"] is False
    time.sleep(0.3)
    assert fresh_org.control("GET", "/__emulator__/traffic").json()["leads_created"] == len(
        lead_ids
    )
    query = ",".join([lead_ids[0][:15], lead_ids[1], "00Q000000000000AAA"])
    both = fresh_org.control("GET", f"/__emulator__/truth?ids={query}").json()
    assert [record["id"] for record in both["records"]] == lead_ids[:2]
    assert both["missing"] == ["00Q000000000000AAA"]
    one = fresh_org.control("GET", f"/__emulator__/truth/Lead/{lead_ids[0]}").json()
    assert {"segment", "region", "intent", "events", "first_response"} <= set(one)
    lead = fresh_org.control("GET", f"/__emulator__/records/Lead/{lead_ids[0]}").json()
    assert lead["Description"] and lead["OwnerId"].startswith("00G")


def test_assignment_through_rest_makes_the_owner_answer(fresh_org: EmulatorProcess, sf: Salesforce):
    fresh_org.control("POST", "/__emulator__/traffic", json={"leads_per_min": 600, **FAST_REPS})
    records = poll(lambda: fresh_org.control("GET", "/__emulator__/truth").json()["records"])
    fresh_org.control("POST", "/__emulator__/traffic", json={"leads_per_min": 0, **FAST_REPS})
    lead_id = records[0]["id"]
    rep = "0055f0000000006AAA"

    sf.Lead.update(lead_id, {"OwnerId": rep})

    truth = poll(
        lambda: fresh_org.control("GET", f"/__emulator__/truth/Lead/{lead_id}").json()[
            "first_response"
        ]
    )
    assert truth["user_id"] == rep
    sobject = "Task" if truth["activity_id"].startswith("00T") else "EmailMessage"
    activity = fresh_org.control(
        "GET", f"/__emulator__/records/{sobject}/{truth['activity_id']}"
    ).json()
    assert activity["CreatedById"] == rep
    assert activity.get("WhoId", lead_id) == lead_id and activity.get("Incoming") is not True


def test_unknown_truth_and_bad_traffic_requests_are_refused(fresh_org: EmulatorProcess):
    missing = fresh_org.control("GET", "/__emulator__/truth/Lead/00Q000000000000AAA")
    bad_rate = fresh_org.control("POST", "/__emulator__/traffic", json={"leads_per_min": -1})
    nothing = fresh_org.control("POST", "/__emulator__/traffic", json={"respond": True})

    assert missing.status_code == 404
    assert bad_rate.status_code == 400 and "non-negative" in bad_rate.json()["error"]
    assert nothing.status_code == 400


def test_serve_traffic_flag_starts_leads_and_truth_survives_a_restart(tmp_path):
    with running_emulator(tmp_path / "org", traffic=1200, seed=5) as emulator:
        poll(lambda: emulator.control("GET", "/__emulator__/traffic").json()["leads_created"] > 2)
        emulator.control("POST", "/__emulator__/traffic", json={"stop": True})
        before = emulator.control("GET", "/__emulator__/truth").json()["records"]

        emulator.restart()

        ids = ",".join(record["id"] for record in before)
        after = emulator.control("GET", f"/__emulator__/truth?ids={ids}").json()["records"]
        assert after == before
        assert emulator.control("GET", "/__emulator__/traffic").json()["running"] is True


def test_history_request_backdates_leads_with_ground_truth(
    fresh_org: EmulatorProcess, sf: Salesforce
):
    # When two days of history at 15 leads a day are asked for
    response = fresh_org.control(
        "POST", "/__emulator__/traffic", json={"history_days": 2, "leads_per_day": 15, "seed": 3}
    )

    # Then 30 past leads exist, spread over the two days, each with its ground truth
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["days"], body["leads_per_day"]) == (30, 2, 15)
    assert body["status"]["history_leads"] == 30 and body["status"]["running"] is False
    recent = sf.query_all("SELECT Id, CreatedDate FROM Lead WHERE CreatedDate = LAST_N_DAYS:2")
    recent = recent["records"]
    created = sorted(dt.datetime.fromisoformat(r["CreatedDate"]) for r in recent)
    now = dt.datetime.now(dt.UTC)
    assert len(recent) == 30
    assert created[0] < now - dt.timedelta(days=1) and created[-1] < now
    ids = ",".join(record["Id"] for record in recent)
    truth = fresh_org.control("GET", f"/__emulator__/truth?ids={ids}").json()
    assert truth["missing"] == []
    assert {record["origin"] for record in truth["records"]} == {"history"}
    bad = fresh_org.control("POST", "/__emulator__/traffic", json={"history_days": "two"})
    assert bad.status_code == 400


def test_emulator_stays_responsive_at_a_thousand_leads_a_minute(
    fresh_org: EmulatorProcess, sf: Salesforce
):
    # Given the generator at 1,000 leads a minute with reps answering
    fresh_org.control("POST", "/__emulator__/traffic", json={"leads_per_min": 1000, **FAST_REPS})
    try:
        # When the app reads for three seconds
        latencies = []
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            sf.query("SELECT Id FROM Lead ORDER BY CreatedDate DESC LIMIT 10")
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)
    finally:
        status = fresh_org.control("POST", "/__emulator__/traffic", json={"stop": True}).json()

    # Then every read answered quickly and the leads kept coming at about the rate
    assert max(latencies) < 2.0
    assert sorted(latencies)[len(latencies) // 2] < 0.5
    assert 25 <= status["leads_created"] <= 90
