"""The seed's numbered steps, followed literally in a real Chromium with its labels, in
English and in French; drag-and-drop upload; the error paths a partner meets."""

import re

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from claims.models import Claim, ClaimStatus
from claims.tests.factories import PDF_BYTES, ClaimFactory, SubscriptionItemFactory, directory_world
from cpor.models import Role
from cpor.tests.factories import partner_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXECUTABLE = b"MZ\x90\x00\x03" + b"\x00" * 200 + b"PE\x00\x00" + b"\x00" * 200


@pytest.fixture
def world(partner):
    return directory_world(partner)


def sign_in(page: Page, live_server, user) -> None:
    """Open a session for `user` the way the sign-in page would, and hand its cookie to the browser."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def drop_files(page: Page, selector: str, files: dict[str, bytes]) -> None:
    """A real drop event on the box, carrying files made in the page."""
    # The box's script is ready. Asked of the document itself: after a download link was
    # clicked, Playwright's own load state may wait for a navigation that never comes.
    page.wait_for_function("document.readyState === 'complete'")
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, bytes] of Object.entries(files)) {
                transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "application/octet-stream"}));
            }
            return transfer;
        }""",
        {name: list(content) for name, content in files.items()},
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "dragover", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def open_customer_associations(page: Page, live_server, overview="Overview", associations="Customer associations"):
    """2. Select the Incentives tab, select Overview, and then select Customer associations."""
    page.goto(live_server.url + "/incentives/")
    page.get_by_role("button", name="Incentives", exact=True).click()
    page.get_by_role("link", name=overview, exact=True).click()
    page.get_by_role("link", name=associations, exact=True).first.click()


def fill_customer(page: Page, world, mpn_label=None):
    page.get_by_label("MPN ID").select_option(
        label=mpn_label or "1234567 – Paris, FR (OSA-Sell, OSU-M365, OSU-BizApps)"
    )
    page.get_by_label("Domain name").fill(world.domain)
    page.get_by_label("Directory ID / Tenant ID").fill(str(world.tenant.tenant_id))


def test_a_business_applications_claim_filed_exactly_as_the_seed_says(page: Page, live_server, world, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    sign_in(page, live_server, user)
    open_customer_associations(page, live_server)
    expect(page.get_by_role("heading", name="Customer associations")).to_be_visible()
    # 3. At the top of the Customer associations page, select + Customer association.
    page.get_by_role("link", name="+ Customer association").click()
    expect(page.get_by_test_id("steps")).to_contain_text("MPN ID and customer")
    # 4. Select the MPN ID, add the customer's domain name and Directory ID. 5. Select Continue.
    fill_customer(page, world)
    page.get_by_role("button", name="Continue").click()
    # 6. Select the Solution area and Activity: Business Applications, Usage and/or Pre-sales. Continue.
    page.get_by_label("Business Applications").check()
    page.get_by_label("Usage", exact=True).check()
    page.get_by_label("Pre-sales", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    # 7. Enter the appropriate information on the Associate customer page, and then select Create claim.
    expect(page.get_by_role("heading", name="Associate customer")).to_be_visible()
    page.get_by_label(re.compile(r"^\s*Name\*?\s*$")).fill("Contoso Dynamics rollout")
    page.get_by_role("button", name="Create claim").click()
    expect(page.get_by_text("Claim created.")).to_be_visible()
    # 8. Select the product(s), and then select Continue (with the subscription ID where the tenant has several).
    page.get_by_label("Dynamics 365 Sales").check()
    page.get_by_label("Dynamics 365 Customer Service", exact=True).check()
    page.get_by_label("Subscription ID for Dynamics 365 Customer Service").fill(
        str(world.service_subscriptions[0].subscription_id)
    )
    page.get_by_role("button", name="Continue").click()
    # 9. Complete the customer contact information and your company's contact information.
    expect(page.get_by_text("All fields are required.")).to_be_visible()
    page.get_by_label("Customer contact name").fill("Ada Customer")
    page.get_by_label("Customer contact title").fill("CIO")
    page.get_by_label("Customer contact email").fill("ada@contoso.fr")
    page.get_by_label("Technical contact name").fill("Tom Tech")
    page.get_by_label("Technical contact title").fill("IT lead")
    page.get_by_label("Technical contact email").fill("tom@contoso.fr")
    page.get_by_label("Your contact name").fill("Paula Partner")
    page.get_by_label("Your contact email").fill("paula@fabrikam.example")
    page.get_by_role("button", name="Continue").click()
    # 10. Supply your PoE: drag it to the box, or use a template by selecting Download template.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download template").click()
    assert download.value.suggested_filename.endswith(".docx")
    with page.expect_navigation():
        drop_files(page, "[data-dropzone]", {"Signed SoW.pdf": PDF_BYTES, "Annex.pdf": PDF_BYTES})
    expect(page.get_by_test_id("proof-link")).to_have_count(2)
    expect(page.get_by_role("link", name="Signed SoW.pdf")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    # 11. Add and save comments if you like, and then select Submit claim.
    page.get_by_role("textbox", name=re.compile("^Comment")).fill("Workshops held in March; SoW signed by the CIO.")
    page.get_by_role("button", name="Save comment").click()
    expect(page.get_by_text("Workshops held in March")).to_be_visible()
    page.get_by_role("button", name="Submit claim").click()
    # The status appears in the Status field; select History to view the history.
    expect(page.get_by_test_id("status")).to_have_text("Submitted")
    page.get_by_role("link", name="History").click()
    history = page.locator("#history-table")
    for event in ("Claim created", "Products or workloads changed", "Proof of execution added", "Claim submitted"):
        expect(history).to_contain_text(event)
    expect(history).to_contain_text(user.email)
    claim = Claim.objects.get()
    assert claim.status == ClaimStatus.SUBMITTED
    assert claim.items.count() == 4 and claim.proofs.count() == 2
    # Once you submit your customer association, you can't edit it.
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)


def test_a_microsoft_365_claim_with_a_browsed_file(page: Page, live_server, world, partner, tmp_path):
    sign_in(page, live_server, partner_user(partner, Role.INCENTIVES_ADMIN))
    page.goto(live_server.url + "/incentives/customer-associations/")
    page.get_by_role("link", name="+ Customer association").click()
    fill_customer(page, world)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Microsoft 365").check()
    page.get_by_label("Usage", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label(re.compile(r"^\s*Name\*?\s*$")).fill("Contoso collaboration")
    page.get_by_role("button", name="Create claim").click()
    page.get_by_label("Exchange Online").check()
    page.get_by_label("Microsoft Teams").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("Technical contact name")).to_have_count(0)
    page.get_by_label("Customer contact name").fill("Ada Customer")
    page.get_by_label("Customer contact title").fill("CIO")
    page.get_by_label("Customer contact email").fill("ada@contoso.fr")
    page.get_by_label("Your contact name").fill("Paula Partner")
    page.get_by_label("Your contact email").fill("paula@fabrikam.example")
    page.get_by_role("button", name="Continue").click()
    poe = tmp_path / "statement-of-work.pdf"
    poe.write_bytes(PDF_BYTES)
    # The box's script is ready. Asked of the document itself: after a download link was
    # clicked, Playwright's own load state may wait for a navigation that never comes.
    page.wait_for_function("document.readyState === 'complete'")
    with page.expect_navigation():
        page.get_by_label("Proof of execution (PoE)").set_input_files(poe)
    expect(page.get_by_role("link", name="statement-of-work.pdf")).to_be_visible()
    page.get_by_role("link", name="Continue").click()
    page.get_by_role("button", name="Submit claim").click()
    expect(page.get_by_test_id("status")).to_have_text("Submitted")
    expect(page.locator("#claim-items")).to_contain_text("Exchange Online")
    expect(page.locator("#claim-items")).to_contain_text("OSU-M365")


def test_bad_input_on_the_first_steps_is_explained_before_going_on(page: Page, live_server, world, partner):
    sign_in(page, live_server, partner_user(partner, Role.INCENTIVES_ADMIN))
    page.goto(live_server.url + "/incentives/customer-associations/new/")
    # A malformed GUID.
    fill_customer(page, world)
    page.get_by_label("Directory ID / Tenant ID").fill("not-a-guid")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("must be a GUID", exact=False)).to_be_visible()
    # An unknown domain.
    page.get_by_label("Directory ID / Tenant ID").fill(str(world.tenant.tenant_id))
    page.get_by_label("Domain name").fill("unknown.example")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("don't match. Contact your customer")).to_be_visible()
    # A wrong activity for the area, then an MPN ID that is not enrolled.
    page.get_by_label("Domain name").fill(world.domain)
    page.get_by_label("MPN ID").select_option(label="7654321 – Lyon, FR (not enrolled in any incentive programme)")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Microsoft 365").check()
    page.get_by_label("Pre-sales", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("For Microsoft 365, the only activity is Usage.")).to_be_visible()
    page.get_by_label("Pre-sales", exact=True).uncheck()
    page.get_by_label("Usage", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("isn't enrolled in OSU-M365")).to_be_visible()
    # Back keeps what was typed.
    page.get_by_role("link", name="Back").click()
    expect(page.get_by_label("Domain name")).to_have_value(world.domain)
    assert not Claim.objects.exists()


def test_bad_files_a_missing_contact_and_a_second_submit(page: Page, live_server, world, partner, settings):
    user = partner_user(partner, Role.INCENTIVES_ADMIN)
    claim = ClaimFactory(partner=partner, mpn=world.mpn, tenant=world.tenant, customer_contact_name="")
    SubscriptionItemFactory(claim=claim, subscription=world.sales_subscription)
    sign_in(page, live_server, user)
    # A missing contact.
    page.goto(f"{live_server.url}/incentives/customer-associations/{claim.pk}/contacts/")
    page.get_by_label("Customer contact name").fill("")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.get_by_label("Customer contact name").fill("Ada Customer")
    page.get_by_role("button", name="Continue").click()
    # A renamed executable, dropped on the box.
    with page.expect_navigation():
        drop_files(page, "[data-dropzone]", {"Signed SoW.pdf": EXECUTABLE})
    expect(page.get_by_text("Signed SoW.pdf isn't an accepted kind of file.")).to_be_visible()
    expect(page.get_by_test_id("proof-link")).to_have_count(0)
    # An oversize file.
    big = PDF_BYTES + b"0" * 4096
    settings.POE_MAX_BYTES = 2048
    with page.expect_navigation():
        drop_files(page, "[data-dropzone]", {"Big.pdf": big})
    expect(page.get_by_text("Big.pdf is too large")).to_be_visible()
    settings.POE_MAX_BYTES = 10 * 1024 * 1024
    with page.expect_navigation():
        drop_files(page, "[data-dropzone]", {"SoW.pdf": PDF_BYTES})
    page.get_by_role("link", name="Continue").click()
    # A second submit, from a second tab left open on the same page.
    second = page.context.new_page()
    second.goto(page.url)
    page.get_by_role("button", name="Submit claim").click()
    expect(page.get_by_test_id("status")).to_have_text("Submitted")
    second.get_by_role("button", name="Submit claim").click()
    expect(second.get_by_text("This claim has already been submitted.")).to_be_visible()
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.SUBMITTED
    assert claim.events.filter(action="submitted").count() == 1


def test_the_french_labels_of_the_seed(page: Page, live_server, world, partner):
    user = partner_user(partner, Role.INCENTIVES_ADMIN, language="fr")
    sign_in(page, live_server, user)
    # 2. Sélectionnez l'onglet incentives, sélectionnez vue d'ensemble, puis associations client.
    open_customer_associations(page, live_server, overview="Vue d’ensemble", associations="Associations client")
    # 3. sélectionnez + Association client.
    page.get_by_role("link", name="+ Association client").click()
    # 4. Sélectionnez l'ID MPN, puis ajoutez le nom du domaine et l'ID d'annuaire du client. 5. Continuer.
    page.get_by_label("ID MPN").select_option(index=1)
    page.get_by_label("Nom de domaine").fill(world.domain)
    page.get_by_label("ID d’annuaire / ID de locataire").fill(str(world.tenant.tenant_id))
    page.get_by_role("button", name="Continuer").click()
    # 6. Sélectionnez la zone de solution et l'activité : utilisation et/ou prévente.
    expect(page.get_by_role("group", name=re.compile("^Zone de solution"))).to_be_visible()
    expect(page.get_by_text("Utilisation et/ou prévente", exact=True)).to_be_visible()
    # The solution areas are product names; the tenants catalogue may keep or translate them.
    page.get_by_label(re.compile(r"^\s*(Business Applications|Applications métier)\s*$")).check()
    page.get_by_label("Utilisation", exact=True).check()
    page.get_by_role("button", name="Continuer").click()
    # 7. la page associer un client, puis créer une revendication.
    expect(page.get_by_role("heading", name="Associer un client")).to_be_visible()
    page.get_by_label(re.compile(r"^\s*Nom\*?\s*$")).fill("Déploiement Contoso")
    page.get_by_role("button", name="Créer une revendication").click()
    page.get_by_label("Dynamics 365 Sales").check()
    page.get_by_role("button", name="Continuer").click()
    expect(page.get_by_text("Tous les champs sont obligatoires.")).to_be_visible()
    page.get_by_label("Nom du contact client").fill("Ada Client")
    page.get_by_label("Titre du contact client").fill("DSI")
    page.get_by_label("Adresse e-mail du contact client").fill("ada@contoso.fr")
    page.get_by_label("Nom du contact technique").fill("Tom Tech")
    page.get_by_label("Titre du contact technique").fill("Responsable IT")
    page.get_by_label("Adresse e-mail du contact technique").fill("tom@contoso.fr")
    page.get_by_label("Nom de votre contact").fill("Paula Partenaire")
    page.get_by_label("Adresse e-mail de votre contact").fill("paula@fabrikam.example")
    page.get_by_role("button", name="Continuer").click()
    # 10. Preuve d'exécution (PoE) ... Download template (Télécharger un modèle).
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger un modèle").click()
    assert download.value.suggested_filename.endswith(".docx")
    with page.expect_navigation():
        drop_files(page, "[data-dropzone]", {"Déclaration.pdf": PDF_BYTES})
    page.get_by_role("link", name="Continuer").click()
    # 11. Submit claim (Envoyer une demande).
    page.get_by_role("button", name="Envoyer une demande").click()
    # Status (État), History (Historique).
    expect(page.get_by_test_id("status")).to_have_text("Soumise")
    expect(page.get_by_role("heading", name=re.compile("^État"))).to_be_visible()
    page.get_by_role("link", name="Historique").click()
    expect(page.locator("#history-table")).to_contain_text("Revendication envoyée")
    assert Claim.objects.get().status == ClaimStatus.SUBMITTED
