"""What the directory tells the layers above it, without knowing them.

`directory_imported` is sent once a feed has been loaded and committed; the claims app
subscribes in its `ready()` to run the subscription status checks. A receiver returns a
sentence for the operator, or an empty string when it has nothing to say.
"""

from django.dispatch import Signal

directory_imported = Signal()
