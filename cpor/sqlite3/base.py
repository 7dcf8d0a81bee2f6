"""SQLite, the database of `make run`: Django's own backend, except that it leaves out the
indexes SQLite cannot build.

The claim models declare indexes for a million claims on PostgreSQL: GIN trigram indexes for
searching part of a name or domain, and an index ordered with NULLS LAST for the reviewers'
queue. SQLite has no GIN, no pg_trgm and no NULLS LAST in an index, and its schema editor
rebuilds a whole table, with every index the model declares, whenever a migration alters one of
its columns or constraints: without this backend such a migration fails on `make run`'s
database. The pages work the same on SQLite, by scanning.
"""

from django.contrib.postgres.indexes import PostgresIndex
from django.db.backends.sqlite3 import base, schema
from django.db.models import OrderBy


def builds_on_sqlite(index) -> bool:
    if isinstance(index, PostgresIndex):
        return False
    return not any(
        isinstance(expression, OrderBy) and (expression.nulls_first or expression.nulls_last)
        for expression in index.expressions
    )


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def _model_indexes_sql(self, model):
        # Django's own, less the indexes SQLite cannot build (it has expression indexes).
        if not model._meta.managed or model._meta.proxy or model._meta.swapped:
            return []
        output = []
        for field in model._meta.local_fields:
            output.extend(self._field_indexes_sql(model, field))
        output.extend(index.create_sql(model, self) for index in model._meta.indexes if builds_on_sqlite(index))
        return output

    def add_index(self, model, index):
        if builds_on_sqlite(index):
            super().add_index(model, index)

    def remove_index(self, model, index):
        if builds_on_sqlite(index):
            super().remove_index(model, index)


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
