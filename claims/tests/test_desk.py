"""The reviewers' desk (issue 9, section 5): taking and releasing a claim, the queue (Mine,
Unassigned, All by review due date) and the dashboard."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from claims import dashboard, review, selectors
from claims.events import EventAction
from claims.lifecycle import ClaimError
from claims.models import Claim, ClaimEvent, ClaimStatus, ItemOutcome
from claims.selectors import review as review_selectors
from claims.tests.factories import ClaimFactory, SubscriptionItemFactory
from claims.tests.test_admin import as_user, messages_of
from claims.tests.test_review import competing_claims, make_reviewer, put_under_review
from claims.tests.test_throughput import on_postgresql, plan
from cpor.models import Role
from cpor.tests.factories import UserFactory, partner_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer():
    return make_reviewer(first_name="Rita", last_name="Reviewer")


@pytest.fixture
def colleague():
    return make_reviewer(first_name="Colin", last_name="Colleague")


def claim_under_review(review_due_at=None, **fields):
    claim = ClaimFactory(**fields)
    SubscriptionItemFactory(claim=claim)
    return put_under_review(claim, review_due_at=review_due_at)


@pytest.fixture
def claim():
    return claim_under_review(name="Contoso rollout")


def desk_events(claim):
    return list(
        ClaimEvent.objects.filter(claim=claim, action__startswith="claim_")
        .exclude(action="claim_created")
        .values_list("action", flat=True)
    )


# --- Taking and releasing --------------------------------------------------------------------------


def test_a_reviewer_takes_an_unassigned_claim_and_it_is_recorded(reviewer, claim):
    review.claim_take(reviewer=reviewer, claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.assigned_to == reviewer
    assert claim.assigned_at is not None
    event = ClaimEvent.objects.get(claim=claim, action=EventAction.CLAIM_TAKEN)
    assert event.actor == reviewer
    assert event.data["internal"] is True


def test_taking_a_claim_twice_is_refused_and_records_nothing_more(reviewer, claim):
    review.claim_take(reviewer=reviewer, claim_id=claim.pk)
    with pytest.raises(ClaimError, match="already taken this claim"):
        review.claim_take(reviewer=reviewer, claim_id=claim.pk)
    assert desk_events(claim) == [EventAction.CLAIM_TAKEN]


def test_taking_a_claim_another_reviewer_holds_is_refused_and_changes_nothing(reviewer, colleague, claim):
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    with pytest.raises(ClaimError, match="Colin Colleague has already taken this claim"):
        review.claim_take(reviewer=reviewer, claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.assigned_to == colleague
    assert desk_events(claim) == [EventAction.CLAIM_TAKEN]


def test_taking_over_needs_the_explicit_choice_and_records_whom_it_was_taken_from(reviewer, colleague, claim):
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    review.claim_take(reviewer=reviewer, claim_id=claim.pk, take_over=True)
    claim.refresh_from_db()
    assert claim.assigned_to == reviewer
    event = ClaimEvent.objects.get(claim=claim, action=EventAction.CLAIM_TAKEN_OVER)
    assert event.data["taken_from"] == colleague.pk
    assert "Colin Colleague" in event.reason


def test_releasing_a_claim_one_does_not_hold_is_refused_and_changes_nothing(reviewer, colleague, claim):
    with pytest.raises(ClaimError, match="Nobody has taken this claim"):
        review.claim_release(reviewer=reviewer, claim_id=claim.pk)
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    with pytest.raises(ClaimError, match="Colin Colleague holds this claim, not you"):
        review.claim_release(reviewer=reviewer, claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.assigned_to == colleague
    assert desk_events(claim) == [EventAction.CLAIM_TAKEN]


def test_releasing_puts_the_claim_back_unassigned(reviewer, claim):
    review.claim_take(reviewer=reviewer, claim_id=claim.pk)
    review.claim_release(reviewer=reviewer, claim_id=claim.pk)
    claim.refresh_from_db()
    assert (claim.assigned_to, claim.assigned_at) == (None, None)
    assert desk_events(claim) == [EventAction.CLAIM_TAKEN, EventAction.CLAIM_RELEASED]


def test_only_a_claim_on_the_desk_can_be_taken(reviewer):
    claim = ClaimFactory(status=ClaimStatus.DRAFT)
    with pytest.raises(Exception) as refused:
        review.claim_take(reviewer=reviewer, claim_id=claim.pk)
    assert refused.type.__name__ == "Http404"  # a draft is the partner's own: not found
    decided = claim_under_review()
    review.claim_reject(reviewer=reviewer, claim_id=decided.pk, reason="no_response")
    with pytest.raises(ClaimError, match="Only a claim under review or waiting for the partner can be taken"):
        review.claim_take(reviewer=reviewer, claim_id=decided.pk)


def test_only_reviewers_take_or_release_claims(claim):
    for user in (UserFactory(is_staff=True), partner_user(claim.partner, Role.GLOBAL_ADMIN)):
        with pytest.raises(PermissionDenied):
            review.claim_take(reviewer=user, claim_id=claim.pk)
        with pytest.raises(PermissionDenied):
            review.claim_release(reviewer=user, claim_id=claim.pk)
    claim.refresh_from_db()
    assert claim.assigned_to is None


def test_the_refusals_read_in_french(reviewer, colleague, claim):
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    with translation.override("fr"):
        with pytest.raises(ClaimError) as taken:
            review.claim_take(reviewer=reviewer, claim_id=claim.pk)
        with pytest.raises(ClaimError) as released:
            review.claim_release(reviewer=reviewer, claim_id=claim.pk)
    assert "Colin Colleague a déjà pris cette revendication" in taken.value.message
    assert "Colin Colleague détient cette revendication" in released.value.message


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_taking_the_same_claim_at_once_exactly_one_wins():
    claim = claim_under_review()
    first, second = make_reviewer(), make_reviewer()
    barrier = threading.Barrier(2)
    won, refused, errors = [], [], []

    def take(reviewer):
        barrier.wait()
        try:
            review.claim_take(reviewer=reviewer, claim_id=claim.pk)
            won.append(reviewer.pk)
        except ClaimError:
            refused.append(reviewer.pk)
        except Exception as error:  # anything else (a deadlock) fails the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(reviewer,)) for reviewer in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(won) == 1 and len(refused) == 1
    claim.refresh_from_db()
    assert claim.assigned_to_id == won[0]
    assert ClaimEvent.objects.filter(claim=claim, action=EventAction.CLAIM_TAKEN).count() == 1


# --- Partners never see who reviews ------------------------------------------------------------------


def test_partners_never_see_who_took_their_claim(client, reviewer, colleague, claim):
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    review.claim_take(reviewer=reviewer, claim_id=claim.pk, take_over=True)
    review.claim_release(reviewer=reviewer, claim_id=claim.pk)
    user = partner_user(claim.partner, Role.INCENTIVES_ADMIN)
    visible = {event.action for event in selectors.claim_events_visible_to(user, claim)}
    assert not visible & {EventAction.CLAIM_TAKEN, EventAction.CLAIM_TAKEN_OVER, EventAction.CLAIM_RELEASED}
    client.force_login(user)
    page = client.get(reverse("claims:detail", args=[claim.pk])).content.decode()
    for name in ("Colin", "Rita", reviewer.email, colleague.email):
        assert name not in page


# --- The queue -------------------------------------------------------------------------------------------


def test_the_queue_shows_mine_unassigned_or_all_by_review_due_date(reviewer, colleague):
    now = timezone.now()
    later = claim_under_review(name="Later", review_due_at=now + timedelta(days=3))
    overdue = claim_under_review(name="Overdue", review_due_at=now - timedelta(days=1))
    soon = claim_under_review(name="Soon", review_due_at=now + timedelta(days=1))
    review.claim_take(reviewer=reviewer, claim_id=later.pk)
    review.claim_take(reviewer=colleague, claim_id=soon.pk)
    client = as_user(reviewer)
    url = reverse("admin:claims_claim_changelist")

    def listed(query=""):
        return [claim.pk for claim in client.get(url + query).context["cl"].result_list]

    decided = claim_under_review(name="Decided", review_due_at=now - timedelta(days=2))
    review.claim_reject(reviewer=reviewer, claim_id=decided.pk, reason="no_response")
    assert listed() == [decided.pk, overdue.pk, soon.pk, later.pk]
    assert listed("?assigned=mine") == [later.pk]
    # A decided claim waits for nobody: it is not in the unassigned queue.
    assert listed("?assigned=unassigned") == [overdue.pk]
    page = client.get(url).content.decode()
    assert 'class="review-overdue"' in page
    assert 'class="assigned-mine"' in page
    assert "Colin Colleague" in page


def test_the_queue_filter_reads_in_french(reviewer):
    reviewer.language = "fr"
    reviewer.save(update_fields=["language"])
    claim_under_review()
    response = as_user(reviewer).get(reverse("admin:claims_claim_changelist"), HTTP_ACCEPT_LANGUAGE="fr")
    page = response.content.decode()
    assert "Les miennes" in page and "Non attribuées" in page


def test_the_claim_page_takes_and_releases_with_a_message(reviewer, claim):
    client = as_user(reviewer)
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert 'id="take-form"' in page
    response = client.post(reverse("admin:claims_claim_take", args=[claim.pk]))
    assert response.status_code == 302
    assert messages_of(response) == ["You have taken this claim."]
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert 'id="release-form"' in page
    response = client.post(reverse("admin:claims_claim_release", args=[claim.pk]))
    assert messages_of(response) == ["Claim released: it is back on the desk, unassigned."]
    claim.refresh_from_db()
    assert claim.assigned_to is None


def test_taking_a_held_claim_without_confirming_the_take_over_is_refused(reviewer, colleague, claim):
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    client = as_user(reviewer)
    page = client.get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    assert 'id="take-over-form"' in page and 'id="take-form"' not in page
    response = client.post(reverse("admin:claims_claim_take", args=[claim.pk]))
    assert any("Colin Colleague has already taken this claim" in message for message in messages_of(response))
    claim.refresh_from_db()
    assert claim.assigned_to == colleague
    response = client.post(reverse("admin:claims_claim_take", args=[claim.pk]), {"take_over": "yes"})
    claim.refresh_from_db()
    assert claim.assigned_to == reviewer


def test_releasing_from_the_page_a_claim_one_does_not_hold_says_so_in_french(reviewer, colleague, claim):
    reviewer.language = "fr"
    reviewer.save(update_fields=["language"])
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    response = as_user(reviewer).post(reverse("admin:claims_claim_release", args=[claim.pk]), HTTP_ACCEPT_LANGUAGE="fr")
    assert any("détient cette revendication" in message for message in messages_of(response))
    claim.refresh_from_db()
    assert claim.assigned_to == colleague


# --- The dashboard ---------------------------------------------------------------------------------------


def test_the_desk_figures_count_waiting_overdue_and_arbitration(reviewer):
    now = timezone.now()
    claim_under_review(review_due_at=now - timedelta(days=1))
    claim_under_review(review_due_at=now + timedelta(days=1))
    competing_claims(2)
    figures = dashboard.desk_figures(reviewer=reviewer)
    assert dict(figures.waiting)["Under review"] == 4
    assert dict(figures.waiting)["Submitted"] == 0
    assert figures.overdue == 1
    assert figures.in_arbitration == 1
    assert figures.disputes_waiting == 0


def test_the_weekly_figures_give_the_median_days_to_decision_and_the_opt_out_share(reviewer):
    now = timezone.now()
    this_week = [claim_under_review() for _ in range(3)]
    for claim, days in zip(this_week, (2, 4, 10), strict=True):
        Claim.objects.filter(pk=claim.pk).update(
            submitted_at=now - timedelta(days=days), notified_at=now, decided_at=now
        )
    Claim.objects.filter(pk=this_week[1].pk).update(status=ClaimStatus.OPTED_OUT)
    weeks = dashboard.weekly_figures(reviewer=reviewer, now=now)
    assert len(weeks) == dashboard.WEEKS
    current = weeks[-1]
    assert current.decided == 3
    assert current.median_days == 4.0
    assert (current.notified, current.opted_out, current.opt_out_percent) == (3, 1, 33.3)
    assert current.start == (now.date() - timedelta(days=now.weekday()))
    assert all(week.decided == 0 and week.median_days is None for week in weeks[:-2])


def test_the_dashboard_runs_a_fixed_number_of_queries_whatever_the_claims(reviewer):
    client = as_user(reviewer)
    url = reverse("admin:claims_claim_dashboard")
    claim_under_review()
    client.get(url)  # the session and the language settle on the first request
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(4):
        claim_under_review()
    competing_claims(3)
    decided = claim_under_review()
    review.claim_reject(reviewer=reviewer, claim_id=decided.pk, reason="no_response")
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)
    claim_queries = [query["sql"] for query in many if '"claims_claim' in query["sql"]]
    assert len(claim_queries) == 4  # desk, arbitration, decisions by week, opt-outs by week


def test_the_dashboard_draws_its_charts_without_a_script_and_shows_the_table(reviewer):
    claim_under_review()
    page = as_user(reviewer).get(reverse("admin:claims_claim_dashboard")).content.decode()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="cpor-chart"') == 2
    assert 'id="chart-decision-time-title"' in page and 'id="chart-decision-time-desc"' in page
    assert page.count('class="dashboard-week"') == dashboard.WEEKS
    assert '<script src="http' not in page and "cdn" not in page.lower()


def test_the_dashboard_reads_in_french(reviewer):
    reviewer.language = "fr"
    reviewer.save(update_fields=["language"])
    page = as_user(reviewer).get(reverse("admin:claims_claim_dashboard"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Tableau de bord des réviseurs" in page
    assert "Jours médians jusqu’à la décision" in page


def test_the_dashboard_is_reachable_from_the_list(reviewer):
    page = as_user(reviewer).get(reverse("admin:claims_claim_changelist")).content.decode()
    assert reverse("admin:claims_claim_dashboard") in page


def test_an_item_decided_in_arbitration_leaves_the_arbitration_count(reviewer):
    first, second = competing_claims(2)
    review.item_decide(reviewer=reviewer, item_id=first.pk, approve=False, note="")
    review.item_decide(reviewer=reviewer, item_id=second.pk, approve=False, note="")
    assert dashboard.desk_figures(reviewer=reviewer).in_arbitration == 0
    first.refresh_from_db()
    assert first.outcome == ItemOutcome.REJECTED


def sorted_plan(queryset) -> str:
    """The plan with sequential scans and sorts priced out: on a tiny test table (or one
    that earlier tests filled) the planner would otherwise sort a few rows in memory, which
    says nothing of whether an index gives the order at a million claims."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
    return plan(queryset)


@on_postgresql
def test_the_queue_walks_the_review_due_index_mine_too(reviewer):
    claim_under_review()
    admin_order = (F("review_due_at").asc(nulls_last=True), "-id")
    queue = review_selectors.claims_for_review(reviewer=reviewer).order_by(*admin_order)[:50]
    assert "claim_review_due" in sorted_plan(queue)
    mine = review_selectors.claims_for_review(reviewer=reviewer).filter(assigned_to=reviewer)
    mine = mine.order_by(*admin_order)[:50]
    assert "claim_assigned_due" in sorted_plan(mine)


def test_reviewers_read_who_took_the_claim_in_its_history_marked_internal(reviewer, colleague, claim):
    review.claim_take(reviewer=colleague, claim_id=claim.pk)
    review.claim_take(reviewer=reviewer, claim_id=claim.pk, take_over=True)
    page = as_user(reviewer).get(reverse("admin:claims_claim_change", args=[claim.pk])).content.decode()
    history = page.split('id="review-history"', 1)[1]
    assert "Reviewer took the claim over" in history
    assert "Taken over from Colin Colleague" in history
    assert history.count("review-event review-internal") == 2
