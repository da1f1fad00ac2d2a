"""The decision list in the admin: read-only, unlabeled first, filters, bulk accept, export zip."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from flywheel.admin import DecisionAdmin
from flywheel.models import Decision, ExportJob, Label
from flywheel_site.roles import MANAGERS
from tests.flywheel.conftest import RULES_OUTPUT, Rules, staff_user

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:flywheel_decision_changelist")


def _confident(confidence: float):
    def rules(_context: dict) -> Rules:
        return Rules(output=dict(RULES_OUTPUT), confidence=confidence, explanation="rules")

    return rules


def _listed(response) -> list[int]:
    return [decision.pk for decision in response.context["cl"].result_list]


def test_unlabeled_decisions_come_first(labeler_client, labeler, decide_case):
    older = decide_case(subject_id="00Q000000000001AAA").decision_id
    newer = decide_case(subject_id="00Q000000000002AAA").decision_id
    Label.objects.create(decision_id=newer, verdict="correct", source="human", reviewer=labeler)

    response = labeler_client.get(CHANGELIST)

    assert _listed(response) == [older, newer]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("workload__exact=triage", ["triage"]),
        ("band=low", ["low"]),
        ("band=high", ["routing", "triage"]),
        ("labeled=yes", ["labeled"]),
        ("labeled=no", ["low", "routing", "triage"]),
        ("status__exact=ok", ["labeled", "low", "routing", "triage"]),
        ("decider__exact=llm", []),
    ],
)
def test_filters_narrow_the_list(labeler_client, labeler, decide_case, query, expected):
    ids = {
        "routing": decide_case(),
        "triage": decide_case(workload="triage"),
        "low": decide_case(workload="low", rules=_confident(0.3)),
        "labeled": decide_case(workload="labeled", rules=_confident(0.6)),
    }
    ids = {name: result.decision_id for name, result in ids.items()}
    Label.objects.create(
        decision_id=ids["labeled"], verdict="correct", source="human", reviewer=labeler
    )

    response = labeler_client.get(f"{CHANGELIST}?{query}")

    names = {pk: name for name, pk in ids.items()}
    assert sorted(names[pk] for pk in _listed(response)) == expected


def test_decisions_and_labels_are_read_only(labeler_client, decide_case):
    decision_id = decide_case().decision_id
    change = reverse("admin:flywheel_decision_change", args=[decision_id])

    page = labeler_client.get(change)
    post = labeler_client.post(change, {"workload": "tampered"})
    add = labeler_client.get(reverse("admin:flywheel_decision_add"))
    delete = labeler_client.post(reverse("admin:flywheel_decision_delete", args=[decision_id]))
    label_add = labeler_client.get(reverse("admin:flywheel_label_add"))

    assert page.status_code == 200 and b'name="workload"' not in page.content
    assert (post.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    assert label_add.status_code == 403
    assert Decision.objects.get().workload == "routing"


def test_bulk_accept_labels_only_high_confidence_rows(labeler_client, labeler, decide_case):
    high = decide_case(rules=_confident(0.95)).decision_id
    low = decide_case(rules=_confident(0.5)).decision_id

    response = labeler_client.post(
        CHANGELIST,
        {"action": "bulk_accept", "_selected_action": [high, low]},
        follow=True,
    )

    page = response.content.decode()
    assert list(Label.objects.values_list("decision_id", "verdict", "reviewer")) == [
        (high, "correct", labeler.pk)
    ]
    assert "Accepted 1 decision(s)." in page
    assert "Refused 1 decision(s) below 0.9 confidence" in page


def test_bulk_accept_threshold_follows_the_setting(labeler_client, decide_case, settings):
    settings.FLYWHEEL_HIGH_CONFIDENCE = 0.4
    decision_id = decide_case(rules=_confident(0.5)).decision_id

    labeler_client.post(CHANGELIST, {"action": "bulk_accept", "_selected_action": [decision_id]})

    assert Label.objects.get().decision_id == decision_id


def test_bulk_accept_twice_adds_no_second_label(labeler_client, decide_case):
    decision_id = decide_case(rules=_confident(0.95)).decision_id
    data = {"action": "bulk_accept", "_selected_action": [decision_id]}

    labeler_client.post(CHANGELIST, data)
    response = labeler_client.post(CHANGELIST, data, follow=True)

    assert Label.objects.count() == 1
    assert "1 you had labeled already were skipped." in response.content.decode()


def test_manager_sees_the_list_but_cannot_bulk_accept(client, decide_case):
    decision_id = decide_case(rules=_confident(0.95)).decision_id
    client.force_login(staff_user("mia", MANAGERS))

    page = client.get(CHANGELIST)
    client.post(CHANGELIST, {"action": "bulk_accept", "_selected_action": [decision_id]})

    assert page.status_code == 200 and b"bulk_accept" not in page.content
    assert not Label.objects.exists()


def test_changelist_query_count_does_not_grow_with_rows(
    labeler_client, decide_case, django_assert_max_num_queries
):
    for n in range(30):
        decide_case(subject_id=f"00Q0000000000{n:02d}AAA", workload=f"w{n % 3}")

    with django_assert_max_num_queries(9):
        response = labeler_client.get(CHANGELIST)

    assert len(_listed(response)) == 30


def test_label_list_query_count_does_not_grow_with_rows(
    labeler_client, labeler, decide_case, django_assert_max_num_queries
):
    for n in range(20):
        decision_id = decide_case(subject_id=f"00Q0000000000{n:02d}AAA").decision_id
        Label.objects.create(
            decision_id=decision_id, verdict="correct", source="human", reviewer=labeler
        )

    with django_assert_max_num_queries(9):
        response = labeler_client.get(reverse("admin:flywheel_label_changelist"))

    assert response.status_code == 200 and len(response.context["cl"].result_list) == 20


def test_export_download_is_a_zip_of_jsonl_files(labeler_client, labeler, decide_case):
    decision_id = decide_case(workload="triage").decision_id
    decide_case(workload="other")
    Label.objects.create(
        decision_id=decision_id,
        verdict="incorrect",
        corrected_output={"segment": "MM", "reason": "about 300 staff"},
        source="human",
        reviewer=labeler,
    )

    response = labeler_client.get(
        reverse("admin:flywheel_decision_export"),
        {"workload": "triage", "format": "sft", "redact_pii": "on"},
    )

    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    jsonl = [name for name in bundle.namelist() if name.endswith(".jsonl")]
    assert len(jsonl) == 1 and jsonl[0].startswith("triage/")
    lines = bundle.read(jsonl[0]).decode().splitlines()
    assert len(lines) == 1
    assistant = json.loads(lines[0])["messages"][-1]
    assert json.loads(assistant["content"]) == {"segment": "MM", "reason": "about 300 staff"}
    assert "Exported 1 line(s)" in bundle.read("SUMMARY.txt").decode()


@pytest.fixture
def background_exports(settings, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    """Exports above 2 decisions go to a worker; the queued task runs when the request commits."""
    from flywheel import exports, tasks

    settings.FLYWHEEL_EXPORT_INLINE_MAX = 2
    settings.FLYWHEEL_EXPORT_DIR = str(tmp_path)
    queued: list[tuple] = []
    monkeypatch.setattr(
        "django_q.tasks.async_task", lambda path, *args, **kwargs: queued.append((path, args))
    )

    def run_queued() -> None:
        for path, args in queued:
            assert path == "flywheel.tasks.export_build"
            tasks.export_build(*args)
        queued.clear()

    return type("Background", (), {"queued": queued, "run": staticmethod(run_queued)}), exports


def test_large_export_is_prepared_by_a_worker_and_downloaded_by_its_owner(
    labeler_client, decide_case, background_exports, django_capture_on_commit_callbacks, client
):
    background, _ = background_exports
    for n in range(3):
        decide_case(workload="triage", subject_id=f"00Q00000000000{n}AAA")
    url = reverse("admin:flywheel_decision_export")

    with django_capture_on_commit_callbacks(execute=True):
        asked = labeler_client.get(url, {"format": "sft"}, follow=True)
    page = asked.content.decode()
    assert "Export #" in page and "of 3 decisions is being prepared" in page
    assert "Queued (waiting for a worker)" in page
    assert len(background.queued) == 1

    background.run()
    ready = labeler_client.get(url).content.decode()
    job = ExportJob.objects.get()
    assert job.status == "done" and "2 duplicate(s)" in job.summary  # the same case thrice
    file_url = reverse("admin:flywheel_decision_export_file", args=[job.pk])
    assert file_url in ready

    download = labeler_client.get(file_url)
    bundle = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert "Exported 1 line(s)" in bundle.read("SUMMARY.txt").decode()
    # another user with export rights cannot fetch it
    client.force_login(staff_user("mia", MANAGERS))
    assert client.get(file_url).status_code == 404
    assert file_url not in client.get(url).content.decode()


def test_a_failed_background_export_says_why_and_leaves_no_file(
    labeler_client, decide_case, background_exports, django_capture_on_commit_callbacks, monkeypatch
):
    background, exports = background_exports
    for n in range(3):
        decide_case(workload="triage", subject_id=f"00Q00000000000{n}AAA")
    with django_capture_on_commit_callbacks(execute=True):
        labeler_client.get(reverse("admin:flywheel_decision_export"), {"format": "sft"})

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exports, "export_write", disk_full)
    background.run()

    job = ExportJob.objects.get()
    assert job.status == "failed" and "No space left on device" in job.error
    assert list(exports.export_dir().iterdir()) == []
    file_url = reverse("admin:flywheel_decision_export_file", args=[job.pk])
    assert labeler_client.get(file_url).status_code == 404
    assert (
        "No space left on device"
        in labeler_client.get(reverse("admin:flywheel_decision_export")).content.decode()
    )


def test_old_exports_are_deleted_with_their_files(labeler, background_exports, tmp_path):
    import datetime as dt

    from django.utils import timezone

    _, exports = background_exports
    stale = tmp_path / "flywheel-export-1.zip"
    stale.write_bytes(b"zip")
    old = ExportJob.objects.create(
        requested_by=labeler,
        status="done",
        file_name=stale.name,
        created_at=timezone.now() - dt.timedelta(days=8),
    )
    fresh = ExportJob.objects.create(requested_by=labeler, status="queued")

    assert exports.export_jobs_prune(now=timezone.now(), keep_days=7) == 1
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not stale.exists() and old.pk != fresh.pk


def test_export_with_nothing_to_export_says_so(labeler_client):
    response = labeler_client.get(
        reverse("admin:flywheel_decision_export"), {"format": "dpo"}, follow=True
    )

    assert response.status_code == 200
    assert "Nothing to export with these filters." in response.content.decode()


def test_label_page_opens_for_a_reviewer(labeler_client, labeler, decide_case):
    decision_id = decide_case().decision_id
    label = Label.objects.create(
        decision_id=decision_id, verdict="correct", source="human", reviewer=labeler
    )

    response = labeler_client.get(reverse("admin:flywheel_label_change", args=[label.pk]))

    assert response.status_code == 200 and f"routing #{decision_id}" in response.content.decode()


def test_sorting_by_a_column_replaces_the_unlabeled_first_order(
    labeler_client, labeler, decide_case
):
    low = decide_case(rules=_confident(0.3)).decision_id
    high = decide_case(rules=_confident(0.95)).decision_id
    Label.objects.create(decision_id=low, verdict="correct", source="human", reviewer=labeler)
    confidence_column = DecisionAdmin.list_display.index("confidence") + 1

    default = labeler_client.get(CHANGELIST)
    by_confidence = labeler_client.get(f"{CHANGELIST}?o={confidence_column}")

    assert _listed(default) == [high, low]
    assert _listed(by_confidence) == [low, high]
