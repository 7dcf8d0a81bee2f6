"""A partial index on the subscriptions that are no longer live: the subscription checks
(claims.pipeline) start from them every minute instead of reading the whole table."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_tenant_name_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="subscription",
            index=models.Index(
                condition=models.Q(("status__in", ("active", "in_grace")), _negated=True),
                fields=["id"],
                name="subscription_not_live",
            ),
        ),
    ]
