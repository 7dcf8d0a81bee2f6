"""Follow-ups run by the task that caused them (cpor.tasking), queued from anywhere else."""

import logging

from cpor import tasking


def recorder():
    done = []

    def followup(name):
        tasking.followup(run_here=lambda: done.append(("here", name)), queue=lambda: done.append(("queued", name)))

    return done, followup


def test_outside_a_task_a_followup_is_queued_at_once():
    done, followup = recorder()

    followup("notices")

    assert done == [("queued", "notices")]


def test_in_a_task_followups_run_in_order_when_it_ends_and_past_the_cap_are_queued():
    done, followup = recorder()

    with tasking.followups_here():
        for index in range(tasking.IN_PROCESS_MAX + 2):
            followup(index)
        assert done == []  # nothing before the task's own work is over

    assert done == [("here", index) for index in range(tasking.IN_PROCESS_MAX)] + [
        ("queued", tasking.IN_PROCESS_MAX),
        ("queued", tasking.IN_PROCESS_MAX + 1),
    ]
    followup("after")
    assert done[-1] == ("queued", "after")


def test_a_followup_handed_over_by_a_followup_runs_too_and_a_nested_block_leaves_them_to_the_outer():
    done, followup = recorder()

    with tasking.followups_here():
        with tasking.followups_here():
            tasking.followup(run_here=lambda: followup("emails"), queue=lambda: done.append(("queued", "event")))
        assert done == []

    assert done == [("here", "emails")]


def test_a_failing_followup_is_logged_and_the_others_still_run(caplog):
    done, followup = recorder()

    def fails():
        raise OSError("mail server down")

    with caplog.at_level(logging.ERROR, logger="cpor.tasking"), tasking.followups_here():
        tasking.followup(run_here=fails, queue=lambda: done.append(("queued", "failing")))
        followup("next")

    assert done == [("here", "next")]
    assert "the periodic job will take it up" in caplog.text


def test_followups_handed_over_together_run_here_within_the_cap_and_the_rest_is_queued_once():
    done = []

    def notices(claim_ids):
        tasking.followup_each(
            claim_ids, run_here=lambda claim_id: done.append(("here", claim_id)), queue=lambda rest: done.append(rest)
        )

    notices([1, 2])
    assert done == [[1, 2]]  # outside a task: every key queued at once, together
    done.clear()

    with tasking.followups_here():
        tasking.followup(run_here=lambda: done.append(("here", "event")), queue=lambda: done.append("queued"))
        notices(list(range(10)))

    assert done == [("here", "event")] + [("here", index) for index in range(tasking.IN_PROCESS_MAX - 1)] + [
        list(range(tasking.IN_PROCESS_MAX - 1, 10))
    ]
