"""Messages rendered from the shipped templates, in the worker's timezone and language; a team's
folder overrides a template by name and adds translations (gettext catalogs) without code."""

from datetime import UTC, date, datetime

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from app.notify.render import Templates

FACTS = {
    "lang": "en", "name": "Ana", "worker_name": "Ana Lima", "ticket": "jira/IT-1", "swap_id": 7, "status": "delivered",
    "priority": 0, "device": "Latitude 5440", "depot_city": "London", "ships": date(2026, 11, 24),
    "arrives": date(2026, 11, 25), "outcome": "allocated", "position": None, "expected": None, "courier": "UPS",
    "courier_tracking_url": None, "box": ["the device", "charger"], "return_plan": "return_box",
    "return_due": date(2026, 12, 9), "overdue": False, "code": "AT-1", "message": "", "headline": "",
    "received_at": datetime(2026, 12, 8, 23, 30, tzinfo=UTC), "support": "the IT desk",
    "link": "https://spares.example.com/t/tok", "yes_link": "https://spares.example.com/t/tok/followup?answer=yes",
    "no_link": "https://spares.example.com/t/tok/followup?answer=no", "api_link": "https://x/api/v1/swap-requests/7",
}


def test_the_shipped_english_templates_say_what_happens_next_in_local_time():
    templates = Templates()
    received = templates.render("received", FACTS)
    assert received.subject == "We have your request: a replacement arrives Wednesday 25 November"
    assert "It leaves Tuesday 24 November" in received.text and "https://spares.example.com/t/tok" in received.text
    assert received.html.startswith("<!doctype html>") and 'href="https://spares.example.com/t/tok"' in received.html
    # The receipt's time is the worker's: 23:30 UTC is already the next morning in Tokyo.
    tokyo = templates.render("return_received", FACTS, timezone="Asia/Tokyo")
    assert "Wednesday 9 December, 08:30" in tokyo.text
    london = templates.render("return_received", FACTS, timezone="Europe/London")
    assert "Tuesday 8 December, 23:30" in london.text


def test_html_escapes_what_came_from_outside_and_text_does_not():
    templates = Templates()
    risky = {**FACTS, "message": "<script>alert(1)</script> & co"}
    rendered = templates.render("delivery_exception", risky)
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<script>alert(1)</script> & co" in rendered.text


def test_a_teams_folder_overrides_a_template_and_adds_a_language(tmp_path):
    (tmp_path / "received").mkdir()
    (tmp_path / "received" / "subject.txt").write_text("{{ _('Request %(ticket)s logged', ticket=ticket) }}\n")
    catalog = Catalog(locale="de")
    catalog.add("Request %(ticket)s logged", "Anfrage %(ticket)s erfasst")
    catalog.add("Hi %(name)s,", "Hallo %(name)s,")
    (tmp_path / "locales" / "de" / "LC_MESSAGES").mkdir(parents=True)
    with open(tmp_path / "locales" / "de" / "LC_MESSAGES" / "messages.mo", "wb") as mo:
        write_mo(mo, catalog)
    templates = Templates(str(tmp_path))
    german = templates.render("received", FACTS, language="de")
    assert german.subject == "Anfrage jira/IT-1 erfasst"
    assert german.text.startswith("Hallo Ana,")
    assert "Mittwoch 25 November" in german.text  # the day and month in German
    english = templates.render("received", FACTS, language="en")
    assert english.subject == "Request jira/IT-1 logged" and english.text.startswith("Hi Ana,")
    assert templates.render("delivered", FACTS, language="de").subject == "Delivered: your replacement is with you"
