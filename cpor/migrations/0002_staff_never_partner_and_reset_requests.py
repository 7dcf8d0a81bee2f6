"""Password reset requests, counted for their rate limit; and the database's refusal of a
partner membership held by a vendor staff account.

A check constraint cannot look at another table, so the rule "a staff account never holds
a partner membership" is two triggers: one on memberships (refused for a staff user) and one
on users (staff status refused while a membership exists). On PostgreSQL the membership
trigger first takes a share lock on the user row, so that a membership being added and the
same user being made staff at the same moment are serialised and the second one is refused.
"""

from django.db import migrations, models

POSTGRESQL_FORWARD = """
CREATE OR REPLACE FUNCTION cpor_membership_refuse_staff() RETURNS trigger AS $$
BEGIN
    PERFORM 1 FROM cpor_user WHERE id = NEW.user_id FOR SHARE;
    IF EXISTS (SELECT 1 FROM cpor_user WHERE id = NEW.user_id AND (is_staff OR is_superuser)) THEN
        RAISE EXCEPTION 'cpor: a staff account cannot hold a partner membership (user %)', NEW.user_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER cpor_membership_refuse_staff BEFORE INSERT OR UPDATE OF user_id ON cpor_membership
    FOR EACH ROW EXECUTE FUNCTION cpor_membership_refuse_staff();

CREATE OR REPLACE FUNCTION cpor_user_refuse_staff_member() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cpor_membership WHERE user_id = NEW.id) THEN
        RAISE EXCEPTION 'cpor: a partner user cannot be made staff (user %)', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER cpor_user_refuse_staff_member BEFORE UPDATE OF is_staff, is_superuser ON cpor_user
    FOR EACH ROW WHEN (NEW.is_staff OR NEW.is_superuser) EXECUTE FUNCTION cpor_user_refuse_staff_member();
"""

POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS cpor_user_refuse_staff_member ON cpor_user;
DROP FUNCTION IF EXISTS cpor_user_refuse_staff_member();
DROP TRIGGER IF EXISTS cpor_membership_refuse_staff ON cpor_membership;
DROP FUNCTION IF EXISTS cpor_membership_refuse_staff();
"""

SQLITE_FORWARD = [
    """
    CREATE TRIGGER cpor_membership_refuse_staff_insert BEFORE INSERT ON cpor_membership
    WHEN EXISTS (SELECT 1 FROM cpor_user WHERE id = NEW.user_id AND (is_staff OR is_superuser))
    BEGIN SELECT RAISE(ABORT, 'cpor: a staff account cannot hold a partner membership'); END
    """,
    """
    CREATE TRIGGER cpor_membership_refuse_staff_update BEFORE UPDATE OF user_id ON cpor_membership
    WHEN EXISTS (SELECT 1 FROM cpor_user WHERE id = NEW.user_id AND (is_staff OR is_superuser))
    BEGIN SELECT RAISE(ABORT, 'cpor: a staff account cannot hold a partner membership'); END
    """,
    """
    CREATE TRIGGER cpor_user_refuse_staff_member BEFORE UPDATE OF is_staff, is_superuser ON cpor_user
    WHEN (NEW.is_staff OR NEW.is_superuser) AND EXISTS (SELECT 1 FROM cpor_membership WHERE user_id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'cpor: a partner user cannot be made staff'); END
    """,
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS cpor_user_refuse_staff_member",
    "DROP TRIGGER IF EXISTS cpor_membership_refuse_staff_update",
    "DROP TRIGGER IF EXISTS cpor_membership_refuse_staff_insert",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        for statement in [statements] if isinstance(statements, str) else statements:
            schema_editor.execute(statement, params=None)  # no placeholders: "%" is PL/pgSQL's own

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("cpor", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="PasswordResetRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("email_digest", models.CharField(db_index=True, max_length=64)),
                ("client_ip", models.GenericIPAddressField(blank=True, db_index=True, null=True)),
                ("requested_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRESQL_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
