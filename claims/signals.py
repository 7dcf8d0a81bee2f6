"""What the claims app tells the layers above it, without knowing them.

`claim_event_recorded` is sent for every event written to a claim's history, inside the
transaction that wrote it; the notifications app subscribes in its `ready()`.
"""

from django.dispatch import Signal

# Arguments: event (the ClaimEvent just written).
claim_event_recorded = Signal()
