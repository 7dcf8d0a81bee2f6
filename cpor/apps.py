from django.apps import AppConfig


class CporConfig(AppConfig):
    name = "cpor"
    verbose_name = "CPOR partners"
