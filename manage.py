#!/usr/bin/env python
import os
import sys


def main():
    # The development settings for a checkout; servers and workers default to production
    # (cpor/wsgi.py, cpor/celery.py).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpor.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
