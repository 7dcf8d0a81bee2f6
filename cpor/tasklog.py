"""Log lines that name the Celery task and the claim they are about.

While a task runs, every line logged in its process (by any module) carries the task's name
and id, and the claim's id when the task takes a `claim_id`; a line can also name its claim
itself with `logger.info(..., extra={"claim": claim.pk})`. Several workers on several machines
write to one log store: this is what lets an operator follow one claim or one job across them.

    2026-12-02 07:00:00 INFO claims.pipeline task=claims.validate_claim[5f0c...] claim=42 Validated.

The context lives in contextvars, set by Celery's task_prerun signal and reset by task_postrun;
outside a task (a web request, a command) the line is as before.
"""

import contextvars
import inspect
import logging

from celery.signals import task_postrun, task_prerun

_task = contextvars.ContextVar("cpor_task", default=None)
_claim = contextvars.ContextVar("cpor_claim", default=None)
_tokens: dict[str, tuple] = {}


def claim_of(task, args, kwargs):
    """The `claim_id` the task was called with, if its signature has one."""
    try:
        arguments = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {})).arguments
    except (TypeError, ValueError):
        return None
    return arguments.get("claim_id")


@task_prerun.connect(weak=False)
def _enter_task(task_id=None, task=None, args=None, kwargs=None, **_):
    _tokens[task_id] = (_task.set(f"{task.name}[{task_id}]"), _claim.set(claim_of(task, args, kwargs)))


@task_postrun.connect(weak=False)
def _leave_task(task_id=None, **_):
    tokens = _tokens.pop(task_id, None)
    if tokens:
        _task.reset(tokens[0])
        _claim.reset(tokens[1])


class TaskContextFilter(logging.Filter):
    """Adds `context` to every record: " task=NAME[ID] claim=ID", each part where known."""

    def filter(self, record):
        parts = []
        task = getattr(record, "task", None) or _task.get()
        if task:
            parts.append(f"task={task}")
        claim = getattr(record, "claim", None) or _claim.get()
        if claim:
            parts.append(f"claim={claim}")
        record.context = "".join(f" {part}" for part in parts)
        return True
