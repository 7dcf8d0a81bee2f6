"""Build the proof-of-execution templates that **Download template** serves.

The .docx files are committed; this script is how they were made and how to change them:

    .venv/bin/python claims/resources/build_poe_template.py

A .docx is a zip of a few XML parts (WordprocessingML). The output is byte-for-byte
reproducible: fixed timestamps, fixed order.
"""

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

TEXT = {
    "en": {
        "title": "Proof of execution",
        "subtitle": "Statement of work for a customer association (CPOR claim)",
        "intro": (
            "Complete this statement with your customer, have it signed by the customer, and attach it to your "
            "claim as proof of execution. Describe the work you performed for the products or workloads you claim."
        ),
        "customer": "Customer",
        "partner": "Partner",
        "rows_customer": [
            "Customer name",
            "Customer domain name",
            "Directory ID / Tenant ID",
            "Customer contact (name, title, email)",
            "Technical contact for Dynamics 365 (name, title, email)",
        ],
        "rows_partner": ["Partner name", "MPN ID", "Partner contact (name, email)"],
        "work": "Work performed",
        "rows_work": [
            "Solution area (Business Applications or Microsoft 365)",
            "Activity (Usage, Pre-sales or Revenue association)",
            "Products and subscription IDs, or workloads",
            "Description of the work performed",
            "Start and end dates of the work",
        ],
        "signatures": "Signatures",
        "sign_customer": "Signed for the customer (name, title, date, signature)",
        "sign_partner": "Signed for the partner (name, title, date, signature)",
    },
    "fr": {
        "title": "Preuve d’exécution",
        "subtitle": "Déclaration de travail pour une association client (revendication CPOR)",
        "intro": (
            "Remplissez cette déclaration avec votre client, faites-la signer par le client et joignez-la à votre "
            "revendication comme preuve d’exécution. Décrivez le travail effectué pour les produits ou charges de "
            "travail que vous revendiquez."
        ),
        "customer": "Client",
        "partner": "Partenaire",
        "rows_customer": [
            "Nom du client",
            "Nom de domaine du client",
            "ID d’annuaire / ID de locataire",
            "Contact du client (nom, titre, adresse e-mail)",
            "Contact technique pour Dynamics 365 (nom, titre, adresse e-mail)",
        ],
        "rows_partner": ["Nom du partenaire", "ID MPN", "Contact du partenaire (nom, adresse e-mail)"],
        "work": "Travail effectué",
        "rows_work": [
            "Zone de solution (Business Applications ou Microsoft 365)",
            "Activité (utilisation, prévente ou association de chiffre d’affaires)",
            "Produits et ID d’abonnement, ou charges de travail",
            "Description du travail effectué",
            "Dates de début et de fin du travail",
        ],
        "signatures": "Signatures",
        "sign_customer": "Signé pour le client (nom, titre, date, signature)",
        "sign_partner": "Signé pour le partenaire (nom, titre, date, signature)",
    },
}

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="{OFFICE}.wordprocessingml.document.main+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
</Types>""".replace("{OFFICE}", "application/vnd.openxmlformats-officedocument")

RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="{DOC}/officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2" Type="{PKG}/metadata/core-properties" Target="docProps/core.xml"/>
</Relationships>""".replace("{DOC}", "http://schemas.openxmlformats.org/officeDocument/2006/relationships").replace(
    "{PKG}", "http://schemas.openxmlformats.org/package/2006/relationships"
)

CORE = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>{title}</dc:title>
<dc:creator>CPOR</dc:creator>
</cp:coreProperties>"""


def paragraph(text: str, *, bold=False, size=None) -> str:
    props = ""
    if bold or size:
        props = "<w:rPr>" + ("<w:b/>" if bold else "") + (f'<w:sz w:val="{size}"/>' if size else "") + "</w:rPr>"
    return f'<w:p><w:r>{props}<w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def table(labels: list[str]) -> str:
    border = '<w:{side} w:val="single" w:sz="4" w:space="0" w:color="808080"/>'
    borders = "".join(border.format(side=side) for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    rows = []
    for label in labels:
        rows.append(
            "<w:tr>"
            f'<w:tc><w:tcPr><w:tcW w:w="4000" w:type="dxa"/></w:tcPr>{paragraph(label, bold=True)}</w:tc>'
            f'<w:tc><w:tcPr><w:tcW w:w="5600" w:type="dxa"/></w:tcPr>{paragraph(" ")}</w:tc>'
            "</w:tr>"
        )
    return (
        f'<w:tbl><w:tblPr><w:tblW w:w="9600" w:type="dxa"/><w:tblBorders>{borders}</w:tblBorders></w:tblPr>'
        '<w:tblGrid><w:gridCol w:w="4000"/><w:gridCol w:w="5600"/></w:tblGrid>' + "".join(rows) + "</w:tbl>"
    )


def document(text: dict) -> str:
    body = [
        paragraph(text["title"], bold=True, size=36),
        paragraph(text["subtitle"], bold=True),
        paragraph(text["intro"]),
        paragraph(text["customer"], bold=True, size=28),
        table(text["rows_customer"]),
        paragraph(text["partner"], bold=True, size=28),
        table(text["rows_partner"]),
        paragraph(text["work"], bold=True, size=28),
        table(text["rows_work"]),
        paragraph(text["signatures"], bold=True, size=28),
        table([text["sign_customer"], text["sign_partner"]]),
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:document xmlns:w="{W}"><w:body>{"".join(body)}'
        '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
        '<w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134"/></w:sectPr>'
        "</w:body></w:document>"
    )


def build(language: str) -> Path:
    text = TEXT[language]
    path = HERE / f"poe-template.{language}.docx"
    parts = [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", RELS),
        ("docProps/core.xml", CORE.format(title=escape(text["title"]))),
        ("word/document.xml", document(text)),
    ]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content.encode("utf-8"))
    return path


if __name__ == "__main__":
    for code in TEXT:
        print(build(code))
