"""A referral's journey through the staff pages in a real browser (issue 9), on each backend:
with JavaScript, every distinct page checked with axe-core; two people sending the same
referral's forms at once; then the start of the journey without JavaScript.

Screenshots of every page visited: test-results/browser/<backend>/. With REFERRAL_SCREENSHOTS
set to a folder (`REFERRAL_SCREENSHOTS=docs`), the SQLite run also writes the README's three.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import Live
from tests.browser.pages import Visits, axe_violations, fill, send, sign_in
from tests.live import REPO
from tests.referral.flows import concern_body, data
from tests.web.pages import form_fields

#: what a trigger form's main button says
SUBMIT = re.compile(r"^(Record|Ask for approval): ")


class Journey:
    """People signed in, each in a browser context of their own, visiting pages."""

    def __init__(self, live: Live, new_context: Any, visits: Visits, **options: Any) -> None:
        self.live = live
        self.new_context = new_context
        self.visits = visits
        self.options = options
        self.pages: dict[str, Any] = {}

    def as_(self, username: str) -> Any:
        if username not in self.pages:
            page = self.new_context(**self.options).new_page()
            sign_in(page, username, self.visits)
            # axe on a practitioner's home and on a supervisor's (approvals waiting)
            self.visits.seen(page, f"home-{username}", variant="sup" in username)
            self.pages[username] = page
        return self.pages[username]

    def record_concern(self, username: str, **child: Any) -> str:
        page = self.as_(username)
        page.goto("/")
        with page.expect_navigation():
            page.get_by_role("button", name="Record a concern").click()
        self.visits.seen(page, "new-referral")
        fill(page, form_fields(concern_body(**child)))
        send(page, "Record the concern")
        assert "Recorded: the concern, as referral WD-" in page.content(), self.problem(page)
        self.visits.seen(page, "referral", variant="concern")
        return str(page.url.rsplit("/", 1)[1])

    def fire(self, username: str, rid: str, trigger: str, stage: str = "", **changes: Any) -> Any:
        """Open the referral, follow the trigger's button to its form, fill it in, send it.
        The referral page after it is checked with axe when its `stage` is new."""
        page = self.as_(username)
        page.goto(f"/referrals/{rid}")
        with page.expect_navigation():
            page.locator(f'a[href="/referrals/{rid}/{trigger}"]').click()
        self.visits.seen(page, trigger)
        fill(page, form_fields(data(trigger, **changes)))
        send(page, SUBMIT)
        text = page.content()
        assert "Recorded: " in text or "is waiting for approval" in text, self.problem(page)
        self.visits.seen(page, f"{trigger}-done", variant=stage)
        return page

    def decide(self, username: str, rid: str, decision: str, comment: str) -> None:
        """From the approvals queue, open the referral's approval and decide it."""
        page = self.as_(username)
        page.goto("/")
        with page.expect_navigation():
            page.get_by_role("link", name="Approvals", exact=True).click()
        self.visits.seen(page, "approvals", variant="waiting")
        reference = self.reference(rid)
        with page.expect_navigation():
            page.get_by_role("link", name=reference).first.click()
        self.visits.seen(page, "approval")
        page.locator(f'input[name="decision"][value="{decision}"]').check()
        page.fill("#comment", comment)
        send(page, "Send decision")
        verb = {"approve": "Approved", "reject": "Rejected"}[decision]
        assert f"{verb}: " in page.content(), self.problem(page)
        self.visits.seen(page, verb.lower())

    def problem(self, page: Any) -> str:
        """What a page said, and the server's log, for an assertion's message."""
        said = page.locator("main").inner_text() if page.locator("main").count() else ""
        return f"{page.url}:\n{said[:3000]}\n-- gunicorn:\n{self.live.log_tail()}"

    def reference(self, rid: str) -> str:
        page = next(iter(self.pages.values()))
        page.goto(f"/referrals/{rid}")
        return str(page.locator("h1").inner_text().removeprefix("Referral "))

    def state(self, username: str, rid: str) -> str:
        page = self.as_(username)
        page.goto(f"/referrals/{rid}")
        return str(page.locator("main .govuk-tag").first.inner_text())


def test_a_referral_through_the_pages(live: Live, new_context: Any) -> None:
    """One test per backend, so that one worker starts its server and its browser once."""
    journey = with_javascript(live, new_context)
    two_people_send_the_same_referral(journey)
    the_same_child_again(journey)
    reports_and_record_reading(journey)
    without_javascript(live, new_context)


def with_javascript(live: Live, new_context: Any) -> Journey:
    """The whole journey, each distinct page checked with axe-core on SQLite (the pages are the
    same templates on either database; on PostgreSQL the journey only walks them)."""
    journey = Journey(live, new_context, Visits(live, "js", axe=live.backend == "sqlite"))
    # police record the concern and convene the IRD (four participants: "Add another" thrice)
    rid = journey.record_concern("pc")
    page = journey.fire("pc", rid, "convene_ird")
    assert "Recorded: Convene an IRD" in page.content()
    # health and social work add what they hold
    journey.fire("doc", rid, "add_ird_contribution", agency="health")
    journey.fire("sw", rid, "add_ird_contribution", agency="social_work")
    # health ask to close with no further action: a supervisor rejects it; the IRD goes on
    journey.fire("doc", rid, "close_no_further_action", stage="waiting for approval")
    journey.decide("swsup", rid, "reject", "The bruising needs a joint investigation.")
    assert journey.state("sw", rid) == "IRD"
    # social work start the investigation; police plan and record the JII
    journey.fire("sw", rid, "start_investigation")
    journey.fire("pc", rid, "plan_jii")
    journey.fire("pc", rid, "record_jii")
    # the 28 days are extended: asked by social work, approved by the senior manager
    journey.fire("sw", rid, "extend_timescale")
    journey.decide("swsm", rid, "approve", "Agreed: the medical report is awaited.")
    # the initial CPPM registers the child with a plan; a review CPPM de-registers
    journey.fire("sw", rid, "schedule_case_conference")
    journey.fire("chair", rid, "register", stage="registered")
    assert journey.state("chair", rid) == "Registered"
    journey.fire("sw", rid, "schedule_case_conference", conference_type="review")
    journey.fire("chair", rid, "deregister", stage="closed")
    assert journey.state("chair", rid) == "Closed"
    journey.as_("swsup").goto("/approvals")
    journey.visits.seen(journey.as_("swsup"), "approvals-after", variant="after")
    # the other pages of the navigation: the referrals list, and how a referral moves
    for link in ("Referrals", "How a referral moves"):
        page = journey.as_("pc")
        with page.expect_navigation():
            page.get_by_role("link", name=link, exact=True).click()
        journey.visits.seen(page, link.lower().replace(" ", "-"))
    # and axe does find a violation when a page has one: an image without a text alternative
    page.evaluate("document.querySelector('main').append(document.createElement('img'))")
    assert "image-alt" in {v["id"] for v in axe_violations(page)}
    _readme_screenshots(live, journey)
    return journey


def _readme_screenshots(live: Live, journey: Journey) -> None:
    """The README's screenshots (docs/): a home page, a trigger form, the approvals queue."""
    folder = os.environ.get("REFERRAL_SCREENSHOTS")
    if not folder or live.backend != "sqlite":
        return
    out = Path(folder) if Path(folder).is_absolute() else REPO / folder
    # a second referral, so the supervisor has a decision waiting
    other = journey.record_concern("pc", given_name="Ben")
    journey.fire("pc", other, "convene_ird")
    journey.fire("doc", other, "close_no_further_action")
    shots = {
        "screenshot-home.png": ("swsup", "/"),
        "screenshot-form.png": ("sw", f"/referrals/{other}/start_investigation"),
        "screenshot-approvals.png": ("swsup", "/approvals"),
    }
    for name, (username, path) in shots.items():
        page = journey.as_(username)
        page.goto(path)
        page.screenshot(path=str(out / name))


def without_javascript(live: Live, new_context: Any) -> None:
    """Sign in, record a concern, convene the IRD (its participants need "Add another", which
    the server answers): the pages work with no script at all."""
    journey = Journey(live, new_context, Visits(live, "nojs", axe=False), java_script_enabled=False)
    rid = journey.record_concern("pc", given_name="Cara")
    page = journey.fire("pc", rid, "convene_ird")
    assert "Recorded: Convene an IRD" in page.content()
    assert "DS Morgan" in page.content()  # participant 1
    assert "Ms Ng" in page.content()  # participant 4, whose row "Add another" added
    assert journey.state("pc", rid) == "IRD"
    assert page.evaluate("() => document.body.classList.contains('js-enabled')") is False


def two_people_send_the_same_referral(journey: Journey) -> None:
    """Both open a form on one referral; the second to send is told someone changed it, keeps
    what they typed, and records it on sending again; the first's record stands."""
    rid = journey.record_concern("pc", given_name="Dan")
    journey.fire("pc", rid, "convene_ird")
    doc, sw = journey.as_("doc"), journey.as_("sw")
    for page in (doc, sw):
        page.goto(f"/referrals/{rid}/add_ird_contribution")
    fill(doc, form_fields(data("add_ird_contribution", agency="health")))
    mine = data("add_ird_contribution", agency="social_work", information_shared="Two siblings")
    fill(sw, form_fields(mine))
    send(doc, SUBMIT)
    assert "Recorded: " in doc.content()
    send(sw, SUBMIT)
    assert "Someone changed this referral" in sw.content()
    journey.visits.seen(sw, "stale", variant="stale")
    assert sw.locator('[name="information_shared"]').input_value() == "Two siblings"
    assert sw.locator('[name="agency"][value="social_work"]').is_checked()
    send(sw, SUBMIT)  # the form now carries the new version
    assert "Recorded: " in sw.content()
    text = sw.content()
    assert "Attendance 62%" in text  # the first's contribution
    assert "Two siblings" in text  # and the second's


def the_same_child_again(journey: Journey) -> None:
    """A concern about a child already known (Dan, above): the page says so before saving,
    keeps what was typed, and records the concern when the user confirms."""
    page = journey.as_("sw")
    page.goto("/referrals/new")
    fill(page, form_fields(concern_body(given_name="Dan")))
    send(page, "Record the concern")
    assert "is already known in West Dunbartonshire" in page.content(), journey.problem(page)
    journey.visits.seen(page, "new-referral-match", variant="match")
    send(page, "Confirm and record the concern")
    assert "Recorded: the concern, as referral WD-" in page.content(), journey.problem(page)


def reports_and_record_reading(journey: Journey) -> None:
    """The indicators page, and an auditor's record-reading exercise: each page axe-checked."""
    page = journey.as_("swsup")
    page.goto("/reports")
    assert "Concerns received" in page.content(), journey.problem(page)
    journey.visits.seen(page, "reports")
    page = journey.as_("auditor")
    page.goto("/reading")
    journey.visits.seen(page, "reading")
    page.goto("/reading/new")
    journey.visits.seen(page, "reading-new")
    page.fill("#title", "IRD records this week")
    page.select_option("#area", "west-dunbartonshire")
    page.fill("#from", "2000-01-01")
    page.fill("#to", "2100-01-01")
    page.fill("#sample_size", "2")
    page.fill("#seed", "7")
    send(page, "Draw the sample")
    assert "random seed 7" in page.content(), journey.problem(page)
    journey.visits.seen(page, "reading-exercise")
    exercise = page.url
    with page.expect_navigation():
        page.get_by_role("link", name="Child").first.click()
    journey.visits.seen(page, "reading-feedback")
    page.check("#invited")
    send(page, "Save the feedback")
    assert "Feedback from the child recorded" in page.content(), journey.problem(page)
    for part in ("moderation", "results", "summary"):
        page.goto(f"{exercise}/{part}")
        journey.visits.seen(page, f"reading-{part}")
