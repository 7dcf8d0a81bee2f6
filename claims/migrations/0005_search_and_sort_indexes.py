"""Indexes for a million claims: sorting a partner's claims by name or customer, the
reviewers' newest-first list and search by tenant ID, and pg_trgm indexes for searching part
of a name or domain. pg_trgm and GIN exist on PostgreSQL only: on SQLite those two indexes
are skipped (the models' state is the same everywhere)."""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex, run only where the index type exists."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0004_customer_notice_roles"),
        ("cpor", "0001_initial"),
        ("tenants", "0003_notification_emails_and_usage_subscription"),
    ]

    operations = [
        TrigramExtension(),  # does nothing outside PostgreSQL
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["partner", "name", "id"], name="claim_partner_name"),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["partner", "tenant", "id"], name="claim_partner_tenant"),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["-created_at", "-id"], name="claim_recent"),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(fields=["tenant_guid"], name="claim_tenant_guid"),
        ),
        AddIndexOnPostgreSQL(
            model_name="claim",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("name"), name="gin_trgm_ops"
                ),
                name="claim_name_trgm",
            ),
        ),
        AddIndexOnPostgreSQL(
            model_name="claim",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.indexes.OpClass(
                    django.db.models.functions.text.Upper("domain"), name="gin_trgm_ops"
                ),
                name="claim_domain_trgm",
            ),
        ),
    ]
