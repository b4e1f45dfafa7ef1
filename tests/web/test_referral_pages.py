"""The home page, a referral's page and its trigger forms, on the API's services (SPEC 7)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from werkzeug.datastructures import MultiDict

from tests.referral.flows import concern_body, create, data, fire, walk
from tests.web.pages import form_fields, hidden_fields, outline, sign_in
from workflow import registry
from workflow.definition import Definition
from workflow.fields import short_text
from workflow.profiles.scotland_v2 import SCOTLAND_V2


def _post(client: FlaskClient, path: str, fields: list[tuple[str, str]], page: str) -> Any:
    hidden = hidden_fields(page)
    return client.post(path, data=MultiDict([*hidden.items(), *fields]))


def _open(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _state(as_user: Any, rid: str, username: str = "pc") -> dict[str, Any]:
    body: dict[str, Any] = as_user(username).get(f"/api/v1/referrals/{rid}").get_json()
    return body


def test_every_page_has_a_title_one_h1_and_a_skip_link(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "pc")
    for path in ("/", f"/referrals/{rid}", f"/referrals/{rid}/convene_ird"):
        page = outline(_open(client, path))
        assert len(page.titles) == 1
        assert page.titles[0].endswith("– Interagency referral record")
        assert page.h1s == 1, path
        assert page.skip_links == 1, path
        assert page.main_ids == ["main-content"], path


def test_home_leads_with_what_is_due_then_approvals(client: FlaskClient, as_user: Any) -> None:
    due = create(as_user)["id"]  # ird_convened: due by the end of the next working day
    asked = create(as_user, given_name="Ben")["id"]
    walk(as_user, asked, "convene_ird")
    fire(as_user, asked, "close_no_further_action", by="doc", approve=False)  # waits
    sign_in(client, "swsup")
    page = _open(client, "/")
    due_at = page.index("Overdue or due in the next 7 days")
    approvals_at = page.index("Approvals waiting for you")
    assert due_at < approvals_at
    assert due_at < page.index(_state(as_user, due)["reference"]) < approvals_at
    waiting = page[approvals_at:]
    assert _state(as_user, asked)["reference"] in waiting
    assert "Close no further action" in waiting
    # the asker sees no approval waiting for them
    client.post("/sign-out", data=hidden_fields(page))
    sign_in(client, "doc")
    assert "No decisions are waiting for you." in _open(client, "/")


def test_the_referral_page_offers_the_allowed_triggers(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    sign_in(client, "doc")
    page = _open(client, f"/referrals/{rid}")
    allowed = _state(as_user, rid, "doc")["allowed_triggers"]
    for trigger in allowed:
        assert f"/referrals/{rid}/{trigger}" in page
    assert "Close: no further action (needs approval)" in page
    assert "Convene an IRD" in page  # in the history
    # every page read is in the access log, as an API read is
    log = as_user("swsup").get(f"/api/v1/referrals/{rid}/access-log").get_json()["items"]
    assert any(e["username"] == "doc" and e["what"] == "referral (page)" for e in log)


def test_an_invisible_referral_is_not_found(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "teacher.hl")
    assert client.get(f"/referrals/{rid}").status_code == 404
    assert client.get(f"/referrals/{rid}/convene_ird").status_code == 404


def test_a_practitioner_fires_a_trigger_through_the_form(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "pc")
    path = f"/referrals/{rid}/convene_ird"
    page = _open(client, path)
    for name in ("started_at-day", "started_at-hour", "reason", "out_of_hours"):
        assert f'name="{name}"' in page
    assert 'name="participants-0-agency"' in page
    response = _post(client, path, form_fields(data("convene_ird")), page)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/referrals/{rid}"
    assert "Recorded: Convene an IRD" in _open(client, f"/referrals/{rid}")
    after = _state(as_user, rid)
    assert after["state"] == "ird"
    assert after["stages"]["ird"]["participants"] == data("convene_ird")["participants"]


def test_the_referral_page_reads_in_words_not_codes(client: FlaskClient, as_user: Any) -> None:
    """Codes show as words, field names as labels, and the named person is shown."""
    body = concern_body(ethnicity="white_scottish", religion="church_of_scotland")
    body["concern"]["source"] = "child_disclosure"
    body["concern"]["childs_views"] = "I want to go home."
    body["named_person"] = {"name": "Ms Ng", "service": "St Mary's Primary"}
    created = as_user("pc").post("/api/v1/referrals", body)
    assert created.status_code == 201, created.get_json()
    sign_in(client, "pc")
    page = html.unescape(_open(client, f"/referrals/{created.get_json()['id']}"))
    for shown in ("White Scottish", "Church of Scotland", "Child disclosure", "Child's views"):
        assert shown in page, shown
    for code in ("white_scottish", "church_of_scotland", "child_disclosure", "Childs views"):
        assert code not in page, code
    assert "Named person" in page
    assert "St Mary's Primary" in page


def test_a_form_offers_only_people_who_could_act(client: FlaskClient, as_user: Any) -> None:
    """The interviewers' choices are the practitioners, supervisors and senior managers of the
    referral's area: not its auditor, its administrator, or a worker of another area."""
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird", "start_investigation")
    sign_in(client, "pc")
    page = _open(client, f"/referrals/{rid}/plan_jii")
    boxes = re.findall(r'<input[^>]*name="interviewers"[^>]*>', page)
    offered = {re.search(r'value="([^"]+)"', box).group(1) for box in boxes}  # type: ignore[union-attr]
    assert {"pc", "pc2", "sw", "chair", "swsup", "swsm"} <= offered
    assert not offered & {"auditor", "admin", "sw.hl", "teacher.hl"}, offered


def test_add_another_adds_a_row_without_javascript(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "pc")
    path = f"/referrals/{rid}/convene_ird"
    page = _open(client, path)
    assert 'name="participants-1-agency"' not in page
    typed = [("reason", "Disclosure"), ("participants-0-name", "DS Morgan")]
    response = _post(client, path, [*typed, ("add_row", "participants")], page)
    assert response.status_code == 200
    again = response.get_data(as_text=True)
    assert 'name="participants-1-agency"' in again
    assert 'value="DS Morgan"' in again  # what was typed is kept
    assert _state(as_user, rid)["state"] == "concern"  # nothing recorded


def test_the_apis_messages_in_an_error_summary(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "pc")
    path = f"/referrals/{rid}/convene_ird"
    page = _open(client, path)
    fields = [
        ("started_at-day", "31"),
        ("started_at-month", "2"),
        ("started_at-year", "2026"),
        ("started_at-hour", "9"),
        ("started_at-minute", "0"),
        ("participants-0-name", "DS Morgan"),
    ]
    response = _post(client, path, fields, page)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "govuk-error-summary" in text
    assert 'href="#started_at-day"' in text
    assert "When the IRD started is not a valid date" in text
    assert 'href="#reason"' in text
    assert "Reason for starting the IRD is required" in text
    # a field inside a row: the API's path data.participants.0.agency, linked to its radios
    assert 'href="#participants-0-agency"' in text
    api = as_user("pc").post(
        f"/api/v1/referrals/{rid}/transitions",
        {"trigger": "convene_ird", "data": {"participants": [{"name": "DS Morgan"}]}},
    )
    assert "is required" in api.get_json()["errors"]["data.participants.0.agency"]
    assert outline(text).titles[0].startswith("Error: ")


def test_a_stale_form_says_someone_changed_the_referral(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    sign_in(client, "doc")
    path = f"/referrals/{rid}/add_chronology_entry"
    page = _open(client, path)
    fire(as_user, rid, "add_ird_contribution", by="teacher")  # meanwhile, someone else
    response = _post(client, path, form_fields(data("add_chronology_entry")), page)
    assert response.status_code == 412
    text = response.get_data(as_text=True)
    assert "Someone changed this referral" in text
    assert "Add an agency&#39;s contribution" in text  # what changed
    # sent again from the refreshed form, it is recorded
    again = _post(client, path, form_fields(data("add_chronology_entry")), text)
    assert again.status_code == 303


def test_a_decision_that_needs_approval_says_so(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    sign_in(client, "doc")
    path = f"/referrals/{rid}/close_no_further_action"
    page = _open(client, path)
    assert "This decision needs approval" in page
    assert "Ask for approval: Close: no further action" in page
    response = _post(client, path, form_fields(data("close_no_further_action")), page)
    assert response.status_code == 303
    result = _open(client, response.headers["Location"])
    assert "is waiting for approval" in result
    assert "a supervisor of social work" in result
    assert _state(as_user, rid)["state"] == "ird"
    assert _state(as_user, rid)["pending_approval"]["trigger"] == "close_no_further_action"


def test_a_trigger_not_allowed_now_has_no_form(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    sign_in(client, "pc")
    refused = client.get(f"/referrals/{rid}/register")
    assert refused.status_code == 409
    assert f'href="/referrals/{rid}">Back to the referral</a>' in refused.get_data(as_text=True)
    assert client.get(f"/referrals/{rid}/no_such_trigger").status_code == 404


@contextmanager
def also(version: Definition) -> Iterator[None]:
    registry.register(version)
    try:
        yield
    finally:
        del registry._DEFINITIONS[(version.profile, version.version)]
        registry._engine.cache_clear()


@pytest.mark.parametrize("kind", ["text"])
def test_a_field_added_to_a_trigger_is_on_its_form(
    client: FlaskClient, as_user: Any, kind: str
) -> None:
    convene = SCOTLAND_V2.trigger("convene_ird")
    added = short_text("venue", "Where the IRD was held", "The room or the call.")
    extended = replace(convene, fields=(*convene.fields, added))
    triggers = tuple(extended if t.name == "convene_ird" else t for t in SCOTLAND_V2.triggers)
    with also(replace(SCOTLAND_V2, version=99, triggers=triggers)):
        rid = create(as_user)["id"]
        sign_in(client, "pc")
        path = f"/referrals/{rid}/convene_ird"
        page = _open(client, path)
        assert 'name="venue"' in page
        assert "Where the IRD was held" in page
        assert "The room or the call." in page
        fields = form_fields(data("convene_ird", venue="Video call"))
        assert _post(client, path, fields, page).status_code == 303
        assert _state(as_user, rid)["profile_version"] == 99


def test_a_supervisor_approves_through_the_page(client: FlaskClient, as_user: Any) -> None:
    rid = create(as_user)["id"]
    walk(as_user, rid, "convene_ird")
    asked = fire(as_user, rid, "close_no_further_action", by="doc", approve=False).get_json()
    path = f"/approvals/{asked['id']}"
    sign_in(client, "doc")  # the asker sees it, but may not decide it
    page = _open(client, path)
    assert 'name="decision"' not in page
    assert "Accidental." in page  # the decision asked for, in full
    client.post("/sign-out", data=hidden_fields(page))
    sign_in(client, "swsup")
    assert path in _open(client, "/approvals")
    page = _open(client, path)
    refused = _post(client, path, [("decision", "approve"), ("comment", "")], page)
    assert refused.status_code == 422
    assert 'href="#comment"' in refused.get_data(as_text=True)
    done = _post(client, path, [("decision", "approve"), ("comment", "Agreed.")], page)
    assert done.status_code == 303
    assert "Approved: Close: no further action." in _open(client, done.headers["Location"])
    assert _state(as_user, rid)["state"] == "closed"


def test_home_lists_the_referrals_i_recorded_by_stage(client: FlaskClient, as_user: Any) -> None:
    concern = create(as_user)
    ird = create(as_user, given_name="Ben")
    walk(as_user, ird["id"], "convene_ird")
    create(as_user, username="doc", given_name="Cal")  # someone else's
    sign_in(client, "pc")
    page = _open(client, "/")
    mine = page[page.index("Referrals you recorded") :]
    assert concern["reference"] in mine
    assert ird["reference"] in mine
    assert mine.index("Concern (1)") < mine.index(concern["reference"])
    assert mine.count("/referrals/") == 2


def test_the_referrals_list_filters_and_pages(client: FlaskClient, as_user: Any) -> None:
    first = create(as_user)
    second = create(as_user, given_name="Ben")
    walk(as_user, second["id"], "convene_ird")
    sign_in(client, "pc")
    page = _open(client, "/referrals?state=ird")
    assert second["reference"] in page
    assert first["reference"] not in page
    assert outline(page).h1s == 1
    everything = _open(client, "/referrals")
    assert first["reference"] in everything
    assert second["reference"] in everything
    # one page at a time, through the API's own cursor
    paged = _open(client, "/referrals?limit=1")
    assert (first["reference"] in paged) != (second["reference"] in paged)
    next_page = re.search(r'href="(/referrals\?[^"]+)" rel="next"', paged)
    assert next_page is not None
    following = _open(client, html.unescape(next_page.group(1)))
    assert (first["reference"] in following) != (first["reference"] in paged)
    bad = client.get("/referrals?state=nonsense")
    assert bad.status_code == 400
    assert 'href="#state"' in bad.get_data(as_text=True)


def test_a_practitioner_records_a_concern_through_the_form(
    client: FlaskClient, as_user: Any
) -> None:
    from tests.referral.flows import concern_body

    sign_in(client, "pc")
    assert "/referrals/new" in _open(client, "/")
    page = _open(client, "/referrals/new")
    assert 'name="child-given_name"' in page
    assert 'name="concern-received_at-day"' in page
    body = concern_body()
    empty = _post(client, "/referrals/new", [("area", body["area"])], page)
    assert empty.status_code == 422
    assert 'href="#child-given_name"' in empty.get_data(as_text=True)
    response = _post(client, "/referrals/new", form_fields(body), page)
    assert response.status_code == 303, response.get_data(as_text=True)
    result = _open(client, response.headers["Location"])
    assert "Recorded: the concern, as referral WD-" in result
    rid = response.headers["Location"].rsplit("/", 1)[1]
    recorded = _state(as_user, rid)
    assert recorded["child"]["given_name"] == "Amy"
    assert recorded["concern"]["categories"] == ["physical_abuse"]
    # the same child again: the page says a match is known before saving, then saves when
    # the user confirms, and says so again, as the API's child_match does
    warned = _post(client, "/referrals/new", form_fields(body), page)
    assert warned.status_code == 200
    assert "is already known in West Dunbartonshire" in warned.get_data(as_text=True)
    again = _post(client, "/referrals/new", form_fields(body), warned.get_data(as_text=True))
    assert again.status_code == 303
    assert "is already known in" in _open(client, again.headers["Location"])


def test_an_auditor_records_no_concern(client: FlaskClient) -> None:
    sign_in(client, "auditor")
    assert "/referrals/new" not in _open(client, "/")
    assert client.get("/referrals/new").status_code == 403


def test_the_lifecycle_page_shows_the_diagram_and_the_triggers(client: FlaskClient) -> None:
    sign_in(client, "teacher")
    page = _open(client, "/workflow")
    assert outline(page).h1s == 1
    assert 'src="/api/v1/workflow/diagram"' in page
    for trigger in SCOTLAND_V2.triggers:
        assert str(escape(trigger.label)) in page
    diagram = client.get("/api/v1/workflow/diagram")  # the signed-in session reads it
    assert diagram.status_code == 200
    assert diagram.mimetype == "image/svg+xml"


def _led_section(client: FlaskClient, username: str) -> str:
    sign_in(client, username)
    page = _open(client, "/")
    return page[page.index("Referrals you lead") : page.index("Referrals you recorded")]


def test_home_lists_the_referrals_i_lead(app: Any, as_user: Any) -> None:
    investigated = create(as_user)
    walk(as_user, investigated["id"], "convene_ird", "start_investigation")  # led by sw
    registered = create(as_user, given_name="Ben")
    walk(as_user, registered["id"], "convene_ird", "start_investigation")
    walk(as_user, registered["id"], "schedule_case_conference")
    fire(as_user, registered["id"], "register", lead_professional="sw2")  # the plan's lead
    sw, sw2 = _led_section(app.test_client(), "sw"), _led_section(app.test_client(), "sw2")
    assert investigated["reference"] in sw
    assert registered["reference"] not in sw
    assert registered["reference"] in sw2
    assert investigated["reference"] not in sw2
    # the lead changes: the home pages follow
    changed = fire(as_user, investigated["id"], "change_lead_professional")  # to sw2
    assert changed.status_code == 200, changed.get_json()
    sw, sw2 = _led_section(app.test_client(), "sw"), _led_section(app.test_client(), "sw2")
    assert "You are the lead professional on no open referral." in sw
    assert investigated["reference"] in sw2
    assert registered["reference"] in sw2
    assert "Investigation" in sw2
    assert "Registered" in sw2
