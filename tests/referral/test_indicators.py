"""Indicators against a small hand-built dataset whose answers are worked out by hand here.

Every referral is recorded through the services, each step at its own moment (times in UTC,
so elapsed days are exact), in the statistical year 1 Aug 2024 - 31 Jul 2025 of
west-dunbartonshire unless said otherwise. The expected values beside each assertion are
counted from the story below, not computed by the code under test.

- Ava: concern Mon 2 Sep 2024 09:00, IRD 15:00 (0.25 days), investigation decided 3 Sep 10:00,
  registered 1 Oct 10:00 (initial CPPM at exactly 28 days: met; neglect, domestic abuse),
  de-registered at a review CPPM 3 Feb 2025 (risk reduced; 4 months on the register).
- Ben: registered in 2022, de-registered 10 Mar 2023; new concern 20 Aug 2024, IRD 21 Aug
  09:00 (1 day), investigation 22 Aug 10:00, registered 9 Sep 2024: 18 months less a day
  after the de-registration (a re-registration). Still registered on 31 Jul 2025.
- Cara: the same as Ben but registered 11 Sep 2024: 18 months and a day (not a re-registration);
  IRD 21 Aug 21:00 (0.5 days after a concern at 09:00).
- Dan: concern 1 Oct 2024 09:00, IRD 13:00 (1/6 day), investigation 2 Oct 10:00, a JII on
  10 Oct, not registered at a CPPM 31 Oct 10:00 (29 days: late; the child's views not
  obtained).
- Eve: concern Fri 1 Nov 2024 09:00, IRD Mon 4 Nov 09:00 (3 days), investigation 4 Nov 10:00
  (due 2 Dec), an approved extension to 16 Dec, registered 10 Dec (late without the
  extension, in time with it; emotional abuse). Still registered on 31 Jul 2025.
- Finn: unborn (due 15 Aug 2025); concern 3 Mar 2025 09:00, IRD 14:00 (5/24 day),
  investigation 4 Mar 10:00, registered at a pre-birth CPPM 28 Mar (parental drug misuse).
  Unborn and registered on 31 Jul 2025.
- Gail: screened out 5 Aug 2024. Hana: IRD 14 Jan 2025 (0.125 days), no further action, the
  child's views not obtained. Ivan: concern Sun 9 Feb 2025, IRD 10 Feb (1 day), single agency.
- Jack: an IRD 1 May 2024 (before the year) and another on 25 Apr 2025 (2 days after its
  concern): a repeat IRD within 12 months.
- Kim: a concern at 23:30 on 31 Jul 2025 (in the year, local time) and another at 00:30 on
  1 Aug 2025 (not in it).
- Lia: a concern in Highland (not west-dunbartonshire's).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from referral import db
from referral.demo import chi_number
from referral.models import Referral, User
from referral.services import approvals, referrals, transitions
from referral.services.indicators import INDICATORS, suppress_breakdown
from tests.referral import flows

WD, HL = "west-dunbartonshire", "highland"
YEAR = "from=2024-08-01&to=2025-07-31"
URL = "/api/v1/reports/indicators"


def z(moment: str) -> datetime:
    """'2024-09-02 09:00' in UTC."""
    return datetime.fromisoformat(moment).replace(tzinfo=UTC)


class Story:
    def __init__(self) -> None:
        self.session = db.session()
        self.users = {u.username: u for u in self.session.scalars(select(User))}

    def concern(self, when: str, area: str = WD, chi: str | None = None, **child: Any) -> Referral:
        body = flows.concern_body(area, **child)
        if chi:
            body["child"]["chi_number"] = chi
        body["concern"]["received_at"] = z(when).isoformat()
        by = "sw.hl" if area == HL else "sw"
        return referrals.create_referral(
            self.session, self.users[by], body, "scotland", z(when) + timedelta(minutes=5)
        )

    def fire(
        self,
        referral: Referral,
        trigger: str,
        recorded: datetime,
        by: str | None = None,
        approver: str | None = None,
        **changes: Any,
    ) -> None:
        data = flows.data(trigger, **changes)
        data = {k: v for k, v in data.items() if v is not None}
        fired = transitions.fire(
            self.session,
            self.users[by or flows.FIRER[trigger]],
            referral,
            trigger,
            data,
            None,
            recorded,
        )
        if fired.approval is not None:
            approvals.decide(
                self.session,
                self.users[approver or "swsup"],
                fired.approval.id,
                "approve",
                "Agreed.",
                recorded + timedelta(minutes=40),
            )

    def ird(self, referral: Referral, started: str) -> None:
        self.fire(
            referral,
            "convene_ird",
            z(started) + timedelta(minutes=5),
            started_at=z(started).isoformat(),
        )

    def investigate(self, referral: Referral, decided: str) -> None:
        self.fire(
            referral,
            "start_investigation",
            z(decided) + timedelta(minutes=5),
            decided_at=z(decided).isoformat(),
        )

    def conference(
        self, referral: Referral, kind: str, held: str, trigger: str, **changes: Any
    ) -> None:
        moment = z(held)
        self.fire(
            referral,
            "schedule_case_conference",
            moment - timedelta(days=6),
            conference_type=kind,
            scheduled_for=moment.isoformat(),
        )
        self.fire(
            referral, trigger, moment + timedelta(hours=2), held_at=moment.isoformat(), **changes
        )

    def registered(
        self,
        referral: Referral,
        held: str,
        kind: str = "initial",
        concerns: tuple[str, ...] = ("neglect",),
    ) -> None:
        self.conference(referral, kind, held, "register", areas_of_concern=list(concerns))

    def deregistered(self, referral: Referral, held: str) -> None:
        self.conference(referral, "review", held, "deregister")


def build() -> None:
    s = Story()
    ben_chi = chi_number(date(2015, 3, 4), True)
    cara_chi = chi_number(date(2014, 6, 7), False)
    jack_chi = chi_number(date(2013, 1, 9), True)
    # before the year: Ben's and Cara's first registrations, Jack's first IRD
    for chi, name in ((ben_chi, "Ben"), (cara_chi, "Cara")):
        born = "2015-03-04" if name == "Ben" else "2014-06-07"
        first = s.concern("2022-05-02 09:00", chi=chi, given_name=name, date_of_birth=born)
        s.ird(first, "2022-05-02 11:00")
        s.investigate(first, "2022-05-03 10:00")
        s.registered(first, "2022-05-30 10:00")
        s.deregistered(first, "2023-03-10 10:00")
    jack1 = s.concern(
        "2024-05-01 08:00", chi=jack_chi, given_name="Jack", date_of_birth="2013-01-09"
    )
    s.ird(jack1, "2024-05-01 10:00")
    s.fire(
        jack1,
        "close_no_further_action",
        z("2024-05-01 12:00"),
        decided_at=z("2024-05-01 11:00").isoformat(),
    )

    ava = s.concern("2024-09-02 09:00", given_name="Ava")
    s.ird(ava, "2024-09-02 15:00")
    s.investigate(ava, "2024-09-03 10:00")
    s.registered(ava, "2024-10-01 10:00", concerns=("neglect", "domestic_abuse"))
    s.deregistered(ava, "2025-02-03 10:00")

    ben = s.concern("2024-08-20 09:00", chi=ben_chi, given_name="Ben", date_of_birth="2015-03-04")
    s.ird(ben, "2024-08-21 09:00")
    s.investigate(ben, "2024-08-22 10:00")
    s.registered(ben, "2024-09-09 10:00")

    cara = s.concern(
        "2024-08-21 09:00", chi=cara_chi, given_name="Cara", date_of_birth="2014-06-07"
    )
    s.ird(cara, "2024-08-21 21:00")
    s.investigate(cara, "2024-08-22 10:00")
    s.registered(cara, "2024-09-11 10:00")

    dan = s.concern("2024-10-01 09:00", given_name="Dan")
    s.ird(dan, "2024-10-01 13:00")
    s.investigate(dan, "2024-10-02 10:00")
    s.fire(dan, "plan_jii", z("2024-10-05 10:00"), planned_for=z("2024-10-10 10:00").isoformat())
    s.fire(dan, "record_jii", z("2024-10-10 12:00"), conducted_at=z("2024-10-10 10:00").isoformat())
    s.conference(
        dan,
        "initial",
        "2024-10-31 10:00",
        "not_register",
        childs_views=None,
        childs_views_not_obtained_reason="Too young to give a view.",
    )

    eve = s.concern("2024-11-01 09:00", given_name="Eve")
    s.ird(eve, "2024-11-04 09:00")
    s.investigate(eve, "2024-11-04 10:00")
    s.fire(
        eve, "extend_timescale", z("2024-11-25 10:00"), approver="swsm", new_due_date="2024-12-16"
    )
    s.registered(eve, "2024-12-10 10:00", concerns=("emotional_abuse",))

    finn = s.concern(
        "2025-03-03 09:00",
        given_name="Finn",
        date_of_birth=None,
        expected_date_of_delivery="2025-08-15",
    )
    s.ird(finn, "2025-03-03 14:00")
    s.investigate(finn, "2025-03-04 10:00")
    s.registered(finn, "2025-03-28 10:00", kind="pre_birth", concerns=("parental_drug_misuse",))

    gail = s.concern("2024-08-05 09:00", given_name="Gail")
    s.fire(gail, "screen_out", z("2024-08-05 12:00"), decided_at=z("2024-08-05 11:00").isoformat())

    hana = s.concern("2025-01-14 09:00", given_name="Hana")
    s.ird(hana, "2025-01-14 12:00")
    s.fire(
        hana,
        "close_no_further_action",
        z("2025-01-14 15:00"),
        decided_at=z("2025-01-14 14:00").isoformat(),
        childs_views=None,
        childs_views_not_obtained_reason="Child asleep in hospital.",
    )

    ivan = s.concern("2025-02-09 09:00", given_name="Ivan")
    s.ird(ivan, "2025-02-10 09:00")
    s.fire(
        ivan,
        "refer_single_agency",
        z("2025-02-10 12:00"),
        decided_at=z("2025-02-10 11:00").isoformat(),
    )

    jack2 = s.concern(
        "2025-04-23 09:00", chi=jack_chi, given_name="Jack", date_of_birth="2013-01-09"
    )
    s.ird(jack2, "2025-04-25 09:00")

    s.concern("2025-07-31 22:30", given_name="Kim")  # 23:30 on 31 July in Scotland
    s.concern("2025-07-31 23:30", given_name="Kim", family_name="Other")  # 00:30 on 1 Aug
    s.concern("2025-01-06 09:00", area=HL, given_name="Lia")
    db.session().flush()


@pytest.fixture
def dataset(app: Flask, client: Any) -> None:
    with app.app_context():
        build()
        db.session().commit()  # a savepoint of the test's outer transaction


def values(body: dict[str, Any]) -> dict[str, Any]:
    return {i["id"]: i.get("breakdown", i.get("value")) for i in body["indicators"]}


def test_every_indicator_against_the_hand_counted_dataset(dataset: None, as_user: Any) -> None:
    response = as_user("sw", "read").get(f"{URL}?{YEAR}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"], body["areas"]) == ("2024-08-01", "2025-07-31", [WD])
    got = values(body)
    assert [i["id"] for i in body["indicators"]] == [
        "concerns_received",
        "irds_held",
        "children_repeat_ird_12m",
        "ird_outcomes",
        "jiis_held",
        "cppms_held",
        "registrations",
        "deregistrations",
        "on_register_at",
        "median_days_concern_to_ird",
        "median_days_ird_to_initial_cppm",
        "initial_cppm_within_timescale_pct",
        "initial_cppm_within_timescale_with_extensions_pct",
        "reregistrations_18m",
        "areas_of_concern_at_registration",
        "time_on_register_at_deregistration",
        "childs_views_recorded_pct",
        "timescale_compliance",
    ]
    # Ava Ben Cara Dan Eve Finn Gail Hana Ivan Jack(2025) Kim(31 Jul): not Kim on 1 Aug, not Lia
    assert got["concerns_received"] == 11
    assert got["irds_held"] == 9  # Ava Ben Cara Dan Eve Finn Hana Ivan Jack
    assert got["children_repeat_ird_12m"] == 1  # Jack
    assert got["ird_outcomes"] == {
        "screened_out": 1,
        "no_further_action": 1,
        "single_agency": 1,
        "investigation": 6,
    }
    assert got["jiis_held"] == 1
    # initial: Ava Ben Cara Dan Eve; pre-birth: Finn; review: Ava's de-registration
    assert got["cppms_held"] == {"initial": 5, "pre_birth": 1, "transfer": 0, "review": 1}
    assert got["registrations"] == 5  # Ava Ben Cara Eve Finn
    assert got["deregistrations"] == {
        "risk_reduced": 1,
        "child_died": 0,
        "child_reached_age_limit": 0,
        "child_left_scotland": 0,
        "other": 0,
    }
    assert got["on_register_at"] == {"born": 3, "unborn": 1}  # Ben Cara Eve; Finn
    # 0.125 1/6 5/24 0.25 [0.5] 1 1 2 3
    assert got["median_days_concern_to_ird"] == 0.5
    # Ben 18, Cara 20, Finn 24, Ava 28, Dan 29, Eve 36: (24 + 28) / 2
    assert got["median_days_ird_to_initial_cppm"] == 26.0
    # in time: Ava Ben Cara Finn of six; Eve too, counting her extension
    assert got["initial_cppm_within_timescale_pct"] == 66.7
    assert got["initial_cppm_within_timescale_with_extensions_pct"] == 83.3
    assert got["reregistrations_18m"] == 1  # Ben, not Cara
    concerns = got["areas_of_concern_at_registration"]
    assert {k: v for k, v in concerns.items() if v} == {
        "neglect": 3,
        "domestic_abuse": 1,
        "emotional_abuse": 1,
        "parental_drug_misuse": 1,
    }
    assert got["time_on_register_at_deregistration"] == {
        "under_3m": 0,
        "3m_to_6m": 1,
        "6m_to_12m": 0,
        "12m_to_18m": 0,
        "18m_plus": 0,
    }
    # 8 IRD decisions + 7 CPPM decisions; Hana's IRD and Dan's CPPM without the views: 13/15
    assert got["childs_views_recorded_pct"] == 86.7
    compliance = got["timescale_compliance"]
    # initial CPPMs due in the year: Ava Ben Cara Eve(extended) Finn met, Dan late
    assert (
        compliance["initial_cppm.met"],
        compliance["initial_cppm.met_late"],
        compliance["initial_cppm.overdue"],
    ) == (5, 1, 0)


def test_on_register_at_another_date_and_highland(dataset: None, as_user: Any) -> None:
    # 1 Feb 2025: Ava (until 3 Feb), Ben, Cara, Eve; Finn not yet registered
    got = values(as_user("sw", "read").get(f"{URL}?{YEAR}&at=2025-02-01").get_json())
    assert got["on_register_at"] == {"born": 4, "unborn": 0}
    highland = values(as_user("sw.hl", "read").get(f"{URL}?{YEAR}").get_json())
    assert highland["concerns_received"] == 1  # Lia
    assert highland["irds_held"] == 0


def test_a_reports_token_sees_small_numbers_suppressed(dataset: None, as_user: Any) -> None:
    body = as_user("sw", "reports").get(f"{URL}?{YEAR}").get_json()
    got = values(body)
    assert got["concerns_received"] == 11
    assert got["jiis_held"] == "<5"
    assert got["ird_outcomes"] == {
        "screened_out": "<5",
        "no_further_action": "<5",
        "single_agency": "<5",
        "investigation": 6,
    }
    assert got["on_register_at"] == {"born": "<5", "unborn": "<5"}
    assert got["median_days_ird_to_initial_cppm"] == 26.0  # six cases
    # every breakdown: a total known elsewhere never gives one hidden cell away
    for ind in body["indicators"]:
        cells = ind.get("breakdown")
        if not cells:
            continue
        hidden = [k for k, v in cells.items() if isinstance(v, str)]
        shown_nonzero = [v for v in cells.values() if isinstance(v, int) and v > 0]
        assert len(hidden) != 1 or not shown_nonzero, ind["id"]
    csv = as_user("sw", "reports").get(f"{URL}?{YEAR}&format=csv")
    assert csv.mimetype == "text/csv"
    assert "jiis_held,JIIs held,,<5,docs/indicators.md#jiis_held" in csv.get_data(as_text=True)


def test_secondary_suppression_hides_the_next_smallest_cell() -> None:
    # total 19 known elsewhere: 19 - 10 = 9 is b + c, so b stays hidden
    assert suppress_breakdown({"a": 10, "b": 2, "c": 7}) == {
        "a": 10,
        "b": "<5",
        "c": "suppressed",
    }
    assert suppress_breakdown({"a": 10, "b": 2, "c": 3}) == {"a": 10, "b": "<5", "c": "<5"}
    assert suppress_breakdown({"a": 0, "b": 2}) == {"a": 0, "b": "<5"}


def test_who_may_read_indicators(as_user: Any) -> None:
    for scope in ("reports", "read", "write"):
        assert as_user("sw", scope).get(URL).status_code == 200
    assert as_user("sw").get(f"{URL}?area={HL}").status_code == 403
    assert as_user("sw").get(f"{URL}?area=atlantis").status_code == 404
    assert as_user("admin").get(URL).status_code == 403
    for bad in (
        "from=2025-13-01",
        "to=yesterday",
        "from=2025-08-01&to=2025-07-31",
        "at=x",
        "from=1800-01-01&to=2999-01-01",  # no date before 1900 or after 2200 is taken
        "at=2201-01-01",
    ):
        response = as_user("sw").get(f"{URL}?{bad}")
        assert response.status_code == 422, bad
        assert response.mimetype == "application/problem+json"


def test_the_default_period_is_the_current_statistical_year(as_user: Any) -> None:
    body = as_user("sw", "reports").get(URL).get_json()
    today = datetime.now(UTC).date()
    start = date(today.year if today.month >= 8 else today.year - 1, 8, 1)
    assert (body["from"], body["to"]) == (start.isoformat(), f"{start.year + 1}-07-31")


def test_every_indicator_has_its_definition_in_the_docs() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "indicators.md").read_text()
    for indicator in INDICATORS:
        path, _, anchor = indicator.definition_url.partition("#")
        assert path == "docs/indicators.md"
        assert f'<a id="{anchor}"></a>' in doc, anchor


def test_a_reports_token_reads_nothing_else(app: Flask, as_user: Any) -> None:
    """Every /api/v1 endpoint but the index, the vocabularies and the indicators answers 403
    to a `reports` token (a path parameter filled with a made-up id)."""
    allowed = {
        "/api/v1/",
        "/api/v1/openapi.json",
        "/api/v1/reference",
        URL,
        "/api/v1/workflow",
        "/api/v1/workflow/diagram",
    }
    api = as_user("sw", "reports")
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule in allowed:
            continue
        path = rule.rule
        for argument in rule.arguments:
            path = path.replace(f"<{argument}>", "x1").replace(f"<int:{argument}>", "1")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = api.client.open(
                path,
                method=method,
                json={} if method != "GET" else None,
                headers={"Authorization": f"Bearer {api.token}"},
            )
            assert response.status_code == 403, (method, path, response.status_code)
            checked += 1
    assert checked >= 8


def test_the_reports_page_shows_each_chart_with_its_numbers(dataset: None, client: Any) -> None:
    from tests.web.pages import sign_in

    sign_in(client, "sw")
    page = client.get(f"/reports?{YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html  # no inline script: the CSP holds
    assert "<svg" not in html  # charts are images, their styles kept inside them
    assert html.count('src="data:image/svg+xml;base64,') == len(INDICATORS) + 2
    assert 'href="/reports"' in html  # the navigation links here
    # the numbers beside each chart, small ones suppressed as on a `reports` token
    assert ">11</td>" in html  # concerns received
    assert "JIIs held: &lt;5" in html  # the chart's text alternative
    csv = client.get(f"/reports.csv?{YEAR}").get_data(as_text=True)
    assert "jiis_held,JIIs held,,<5," in csv
    bad = client.get("/reports?from=2025-02-30")
    assert bad.status_code == 200
    assert "Enter a real date" in bad.get_data(as_text=True)
    # an area that is not one of the user's (a hand-edited address) is a form error, not a 404
    for area in ("atlantis", "highland"):
        other = client.get(f"/reports?{YEAR}&area={area}")
        assert other.status_code == 200
        assert "Choose one of your areas" in other.get_data(as_text=True)
