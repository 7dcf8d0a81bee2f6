from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo world (`manage.py seed_demo`): the top layer, which may use every other app."""

    name = "demo"
    verbose_name = "CPOR demo"
