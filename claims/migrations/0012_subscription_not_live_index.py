"""The subscription checks start from the subscriptions that are no longer live.

`claims.pipeline._items_no_longer_live` runs every minute and after each directory import;
it must read what ended, not the whole subscriptions table (bench/bench_timer.py). The index
is on the tenants app's table but exists for this query of the claims app only, so it is
created here and not declared on `tenants.Subscription`: the tenants app knows nothing of
the checks. Its condition is the query's, `status NOT IN LIVE_SUBSCRIPTION_STATUSES`.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0011_claim_assignment"),
        ("tenants", "0004_tenant_name_index"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX subscription_not_live ON tenants_subscription (id)"
            " WHERE NOT (status IN ('active', 'in_grace'))",
            reverse_sql="DROP INDEX subscription_not_live",
        ),
    ]
