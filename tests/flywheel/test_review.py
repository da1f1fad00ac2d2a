"""The review page: labelers accept or correct a decision in one POST and move on to the next."""

from __future__ import annotations

import pytest
from django.urls import reverse

from flywheel.hooks import correction_hook_register, correction_hook_unregister
from flywheel.models import Decision, Label
from flywheel_site.roles import LABELERS, MANAGERS
from tests.flywheel.conftest import staff_user

pytestmark = pytest.mark.django_db
WORKLOAD = "triage"  # no correction hook registered for it


def _review_url(decision_id: int) -> str:
    return reverse("admin:flywheel_decision_review", args=[decision_id])


def _correction(**fields) -> dict:
    """POST data for a correction of the conftest SCHEMA (rules output changed by ``fields``)."""
    output = {"segment": "SMB", "owner_id": "005000000000001AAA", "reason": "12 employees"}
    output |= fields
    return {"action": "correct"} | {f"output-{key}": value for key, value in output.items()}


def test_labeler_sees_the_review_page(labeler_client, decide_case):
    decision_id = decide_case(workload=WORKLOAD).decision_id

    response = labeler_client.get(_review_url(decision_id))

    page = response.content.decode()
    assert response.status_code == 200
    assert "12 employees → SMB" in page  # the explanation
    assert "SMB · MM · ENT · UNKNOWN" in page  # the schema's options
    assert "Acme" in page  # the lead's context


def test_manager_cannot_review(client, decide_case):
    decision_id = decide_case(workload=WORKLOAD).decision_id
    client.force_login(staff_user("mia", MANAGERS))

    page = client.get(_review_url(decision_id))
    post = client.post(_review_url(decision_id), {"action": "accept"})
    bulk = client.get(reverse("admin:flywheel_decision_next"))

    assert (page.status_code, post.status_code, bulk.status_code) == (403, 403, 403)
    assert not Label.objects.exists()


def test_anonymous_user_is_sent_to_the_login_page(client, decide_case):
    decision_id = decide_case(workload=WORKLOAD).decision_id

    response = client.post(_review_url(decision_id), {"action": "accept"})

    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not Label.objects.exists()


def test_accept_labels_the_decision_correct_and_goes_to_the_next_one(
    labeler_client, labeler, decide_case
):
    older = decide_case(workload=WORKLOAD, subject_id="00Q000000000001AAA").decision_id
    newer = decide_case(workload=WORKLOAD, subject_id="00Q000000000002AAA").decision_id

    response = labeler_client.post(_review_url(newer), {"action": "accept"}, follow=True)

    label = Label.objects.get()
    assert (label.decision_id, label.verdict, label.reviewer, label.source) == (
        newer,
        "correct",
        labeler,
        "human",
    )
    assert response.redirect_chain[-1][0] == _review_url(older)


def test_invalid_correction_shows_the_field_error_and_stores_nothing(labeler_client, decide_case):
    decision_id = decide_case(workload=WORKLOAD).decision_id

    response = labeler_client.post(_review_url(decision_id), _correction(reason="x" * 300))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "longer than 200 characters" in errors["reason"][0]
    assert "longer than 200 characters" in response.content.decode()
    assert not Label.objects.exists()


def test_unparseable_number_is_a_field_error(labeler_client, decide_case):
    decision_id = decide_case(workload=WORKLOAD).decision_id

    response = labeler_client.post(_review_url(decision_id), _correction(confidence="high"))

    assert "is not a number" in response.context["form"].errors["confidence"][0]
    assert not Label.objects.exists()


def test_correction_is_stored_with_the_schema_typed_values(labeler_client, decide_case):
    decision_id = decide_case(workload=WORKLOAD).decision_id

    response = labeler_client.post(
        _review_url(decision_id), _correction(segment="MM", confidence="0.7", owner_id="")
    )

    label = Label.objects.get()
    assert response.status_code == 302
    assert label.verdict == "incorrect"
    # owner_id was in the output and may be null: clearing it makes it null
    assert label.corrected_output == {
        "segment": "MM",
        "owner_id": None,
        "confidence": 0.7,
        "reason": "12 employees",
    }


def test_unchanged_correction_counts_as_an_accept(labeler_client, decide_case):
    decision_id = decide_case(workload=WORKLOAD).decision_id

    labeler_client.post(_review_url(decision_id), _correction())

    assert Label.objects.get().verdict == "correct"


def test_next_skips_what_the_reviewer_labeled_and_ends_on_the_list(labeler_client, decide_case):
    first = decide_case(workload=WORKLOAD, subject_id="00Q000000000001AAA").decision_id
    second = decide_case(workload=WORKLOAD, subject_id="00Q000000000002AAA").decision_id

    to_first = labeler_client.post(_review_url(second), {"action": "accept"}, follow=True)
    to_list = labeler_client.post(_review_url(first), {"action": "accept"}, follow=True)

    assert to_first.redirect_chain[-1][0] == _review_url(first)
    assert to_list.redirect_chain[-1][0] == reverse("admin:flywheel_decision_changelist")
    assert "Nothing left to review" in to_list.content.decode()


def test_next_keeps_to_the_workload_being_reviewed(labeler_client, decide_case):
    first = decide_case(workload=WORKLOAD, subject_id="00Q000000000001AAA").decision_id
    other = decide_case(workload="other", subject_id="00Q000000000009AAA").decision_id
    second = decide_case(workload=WORKLOAD, subject_id="00Q000000000002AAA").decision_id
    assert other > first  # newer than "first": without the filter it would come next

    response = labeler_client.post(
        f"{_review_url(second)}?workload={WORKLOAD}", {"action": "accept"}, follow=True
    )

    assert response.redirect_chain[-1][0] == f"{_review_url(first)}?workload={WORKLOAD}"


def _skip(client, decision_id: int, workload: str = ""):
    query = f"?after={decision_id}&skip=1" + (f"&workload={workload}" if workload else "")
    return client.get(reverse("admin:flywheel_decision_next") + query, follow=True)


def test_skipped_decisions_come_back_only_when_nothing_else_is_left(labeler_client, decide_case):
    first = decide_case(workload=WORKLOAD, subject_id="00Q000000000001AAA").decision_id
    second = decide_case(workload=WORKLOAD, subject_id="00Q000000000002AAA").decision_id
    third = decide_case(workload=WORKLOAD, subject_id="00Q000000000003AAA").decision_id
    page = labeler_client.get(_review_url(third)).content.decode()
    assert f"?after={third}&amp;skip=1" in page  # the page offers the skip

    # skipping the newest twice in a row goes down the queue, not back to the skipped one
    to_second = _skip(labeler_client, third)
    to_first = _skip(labeler_client, second)
    labeler_client.post(_review_url(first), {"action": "accept"})
    to_list = _skip(labeler_client, first)  # first is labeled; only skipped ones are left

    assert to_second.redirect_chain[-1][0] == _review_url(second)
    assert to_first.redirect_chain[-1][0] == _review_url(first)
    assert to_list.redirect_chain[-1][0] == reverse("admin:flywheel_decision_changelist")
    assert "Only decisions you skipped are left" in to_list.content.decode()
    assert not Label.objects.filter(decision_id__in=[second, third]).exists()
    # they are back: the next round starts with the newest again
    again = labeler_client.get(reverse("admin:flywheel_decision_next"), follow=True)
    assert again.redirect_chain[-1][0] == _review_url(third)


def test_skip_keeps_to_the_workload_being_reviewed(labeler_client, decide_case):
    first = decide_case(workload=WORKLOAD, subject_id="00Q000000000001AAA").decision_id
    decide_case(workload="other", subject_id="00Q000000000009AAA")
    second = decide_case(workload=WORKLOAD, subject_id="00Q000000000002AAA").decision_id

    response = _skip(labeler_client, second, WORKLOAD)

    assert response.redirect_chain[-1][0] == f"{_review_url(first)}?workload={WORKLOAD}"


@pytest.mark.parametrize("after", ["²", "-1", "abc", "9" * 40])
def test_next_with_a_garbage_position_starts_from_the_top(labeler_client, decide_case, after):
    only = decide_case(workload=WORKLOAD, subject_id="00Q000000000001AAA").decision_id

    response = labeler_client.get(reverse("admin:flywheel_decision_next") + f"?after={after}")

    assert response.status_code == 302 and response.url.startswith(_review_url(only))


def test_lead_description_with_a_script_tag_is_escaped(labeler_client, decide_case):
    script = "<script>alert('xss')</script>"
    decision_id = decide_case(
        workload=WORKLOAD,
        context={"lead": {"Company": "Evil <b>Corp</b>", "Description": script}},
        messages=[
            {"role": "system", "content": "You route leads."},
            {"role": "user", "content": f"Description: {script}"},
        ],
    ).decision_id

    page = labeler_client.get(_review_url(decision_id)).content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in page
    assert "Evil &lt;b&gt;Corp&lt;/b&gt;" in page


def test_review_page_query_count_does_not_grow_with_labels(
    labeler_client, decide_case, django_assert_max_num_queries
):
    decision_id = decide_case(workload=WORKLOAD).decision_id
    for n in range(10):
        Label.objects.create(
            decision_id=decision_id,
            verdict="correct",
            source="human",
            reviewer=staff_user(f"reviewer-{n}", LABELERS),
        )

    with django_assert_max_num_queries(8):
        response = labeler_client.get(_review_url(decision_id))

    assert response.status_code == 200 and response.content.decode().count("reviewer-9") == 1


@pytest.fixture
def pushes():
    """A correction hook for the review workload that records what it was asked to push."""
    calls: list[tuple[int, dict]] = []

    def hook(*, decision_id: int, corrected_output: dict) -> str:
        calls.append((decision_id, corrected_output))
        return f"Pushed owner {corrected_output['owner_id']}."

    correction_hook_register(workload=WORKLOAD, hook=hook, label="Write the owner to Salesforce")
    yield calls
    correction_hook_unregister(workload=WORKLOAD)


def test_correction_asks_to_confirm_before_pushing(labeler_client, decide_case, pushes):
    decision_id = decide_case(workload=WORKLOAD).decision_id

    response = labeler_client.post(
        _review_url(decision_id), _correction(owner_id="005000000000009AAA"), follow=True
    )

    label = Label.objects.get()
    assert response.redirect_chain[-1][0] == reverse(
        "admin:flywheel_decision_push", args=[decision_id, label.pk]
    )
    assert "Write the owner to Salesforce" in response.content.decode()
    assert pushes == []


def test_confirmed_correction_is_pushed_once_then_next(labeler_client, decide_case, pushes):
    decision_id = decide_case(workload=WORKLOAD).decision_id
    labeler_client.post(_review_url(decision_id), _correction(owner_id="005000000000009AAA"))
    push_url = reverse("admin:flywheel_decision_push", args=[decision_id, Label.objects.get().pk])

    response = labeler_client.post(push_url, {"confirm": "1"}, follow=True)

    assert pushes == [(decision_id, Label.objects.get().corrected_output)]
    assert pushes[0][1]["owner_id"] == "005000000000009AAA"
    assert "Pushed owner 005000000000009AAA." in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("admin:flywheel_decision_changelist")


def test_skipped_confirmation_pushes_nothing(labeler_client, decide_case, pushes):
    decision_id = decide_case(workload=WORKLOAD).decision_id
    labeler_client.post(_review_url(decision_id), _correction(owner_id="005000000000009AAA"))
    push_url = reverse("admin:flywheel_decision_push", args=[decision_id, Label.objects.get().pk])

    labeler_client.post(push_url, {"skip": "1"})

    assert pushes == []
    assert Label.objects.get().verdict == "incorrect"


def test_failed_push_stays_on_the_confirm_page_with_the_reason(labeler_client, decide_case):
    def refusing(*, decision_id: int, corrected_output: dict) -> str:
        raise RuntimeError("Lead locked by an approval process")

    correction_hook_register(workload=WORKLOAD, hook=refusing, label="Write the owner")
    try:
        decision_id = decide_case(workload=WORKLOAD).decision_id
        labeler_client.post(_review_url(decision_id), _correction(owner_id="005000000000009AAA"))
        label = Label.objects.get()
        push_url = reverse("admin:flywheel_decision_push", args=[decision_id, label.pk])

        response = labeler_client.post(push_url, {"confirm": "1"}, follow=True)
    finally:
        correction_hook_unregister(workload=WORKLOAD)

    assert response.redirect_chain[-1][0] == push_url
    assert "Lead locked by an approval process" in response.content.decode()


def test_accepted_decision_cannot_be_pushed(labeler_client, decide_case, pushes):
    decision_id = decide_case(workload=WORKLOAD).decision_id
    labeler_client.post(_review_url(decision_id), {"action": "accept"})
    push_url = reverse("admin:flywheel_decision_push", args=[decision_id, Label.objects.get().pk])

    response = labeler_client.post(push_url, {"confirm": "1"})

    assert response.status_code == 404 and pushes == []


def test_review_never_changes_the_decision(labeler_client, decide_case):
    decision_id = decide_case(workload=WORKLOAD).decision_id
    before = Decision.objects.values().get(pk=decision_id)

    labeler_client.post(_review_url(decision_id), _correction(segment="ENT"))

    assert Decision.objects.values().get(pk=decision_id) == before
