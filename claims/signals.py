"""What the claims app tells the layers above it, without knowing them.

`claim_event_recorded` is sent for every event written to a claim's history one at a time,
inside the transaction that wrote it; `claim_events_recorded` once for events written
together (`lifecycle.record_events`: the approval timer and the subscription checks, which
decide thousands of claims a pass). A receiver of one must receive the other: the
notifications and webhooks apps subscribe to both in their `ready()`.
"""

from django.dispatch import Signal

# Arguments: event (the ClaimEvent just written).
claim_event_recorded = Signal()

# Arguments: events (the ClaimEvents just written together, in the order written).
claim_events_recorded = Signal()
