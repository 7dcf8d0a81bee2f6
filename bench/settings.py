"""Settings for the throughput bench only: production's, plus one bare view to compare with.

bench/bench_throughput.py starts gunicorn with DJANGO_SETTINGS_MODULE=bench.settings. Nothing
in the application imports this module, and no production URL gains the bare view.
"""

from cpor.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
