"""The Celery application, configured from Django settings under the CELERY_ prefix.

Without DJANGO_SETTINGS_MODULE a worker or beat runs the production settings (like
cpor/wsgi.py); the Procfile behind `make run` chooses the development settings explicitly."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings.production")

app = Celery("cpor")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _prepare_filesystem_broker(sender, **kwargs):
    # The embedded default broker keeps its queue in folders that must exist before the
    # first message is sent or read.
    options = sender.conf.broker_transport_options or {}
    if str(sender.conf.broker_url).startswith("filesystem"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)
