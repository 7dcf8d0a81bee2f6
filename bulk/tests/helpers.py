"""Building bulk CSV files for the tests."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from bulk.csvfile import COLUMN_NAMES


def row_for(world, reference, **overrides) -> dict:
    """A Business Applications Usage row on Contoso's Dynamics 365 Sales subscription."""
    row = {
        "reference": reference,
        "claim_name": f"Bulk {reference}",
        "mpn_id": world.mpn.mpn_id,
        "domain": world.domain,
        "tenant_id": str(world.tenant.tenant_id),
        "solution_area": "Business Applications",
        "activity": "usage",
        "products_or_workloads": world.sales.name,
        "subscription_id": "",
        "customer_contact_name": "Ada Customer",
        "customer_contact_title": "CIO",
        "customer_contact_email": "ada@contoso.fr",
        "technical_contact_name": "Tom Tech",
        "technical_contact_title": "IT lead",
        "technical_contact_email": "tom@contoso.fr",
        "partner_contact_name": "Paula Partner",
        "partner_contact_email": "paula@fabrikam.example",
        "solution_seller_name": "",
        "customer_name": "",
        "isv_solution_name": "",
    }
    row.update(overrides)
    return row


def csv_bytes(rows, columns=COLUMN_NAMES, delimiter=",") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    return buffer.getvalue().encode()


def csv_upload(rows, name="claims.csv", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, csv_bytes(rows, **kwargs), content_type="text/csv")
