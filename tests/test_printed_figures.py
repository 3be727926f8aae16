"""Figures a clinician can sign (part of issue 14): the rules for the printed figures in
../shared/CLINICAL.md, as hand-worked cases (expected values written by hand, not computed
by the code under test), property tests, and the same figures through the pages."""

from __future__ import annotations

import random
import re
import statistics
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from diary import clock, outcomes
from diary.queries import accounts, patients, seed, treatments
from diary.reference import REFERENCE, TABLE_1
from tests.factories import give_consent
from tests.helpers import csrf_from, login

D = date.fromisoformat


def s(number, day, nrs=None):
    return {"number": number, "date": D(day), "nrs_before": nrs}


def e(day, avg, worst=None, late=False):
    return {"day": D(day), "avg_nrs": avg, "worst_nrs": avg if worst is None else worst,
            "late": late}  # fmt: skip


def days(first, values):
    """Consecutive diary days from ``first`` with these daily averages."""
    return [e((D(first) + timedelta(days=k)).isoformat(), v) for k, v in enumerate(values)]


# --- hand-worked cases ---------------------------------------------------------------------


def test_sessions_entered_out_of_date_order():
    """Day 7 (NRS 5) recorded first, day 0 (NRS 8) second; the diary after day 7 is 3 a day.
    By hand: baseline 8 (day 0), now 3 (12 March), change -5, 62.5 %, goal at the 2nd visit."""
    sessions = [s(1, "2026-03-09", 5), s(2, "2026-03-02", 8)]
    result = outcomes.course_outcome(
        sessions, days("2026-03-09", [3, 3, 3, 3]), D("2026-03-02"), D("2026-03-12")
    )
    assert (result.baseline, result.current, result.points) == (8, 3, -5)
    assert result.current_date == D("2026-03-12")
    assert result.percent == Fraction(625, 10) and result.band == "substantial"
    assert (result.goal_session, result.goal) == (2, "reached")
    assert [span.start for span in result.intervals] == [D("2026-03-02"), D("2026-03-09")]


def test_baseline_zero_is_not_assessable():
    result = outcomes.course_outcome(
        [s(1, "2026-03-02", 0)], days("2026-03-02", [0, 0]), D("2026-03-02"), D("2026-03-03")
    )
    assert result.baseline == 0 and result.points == 0
    assert (result.percent, result.band, result.goal_session) == (None, None, None)
    assert result.goal == "not_assessable"
    assert not outcomes.reached(0, 0)


def test_low_baselines_stay_assessable_with_their_points():
    """Baseline 2, now 1: one point is 50 %, the goal; the pages print the points too."""
    result = outcomes.course_outcome(
        [s(1, "2026-03-02", 2)], days("2026-03-02", [1, 1]), D("2026-03-02"), D("2026-03-03")
    )
    assert (result.points, result.percent, result.goal) == (-1, 50, "reached")


def test_thirty_percent_is_exactly_moderate():
    """Baseline 7; nine days at 5 and one at 4: interval mean 4.9, (7 - 4.9) / 7 = 30 %
    exactly (a float says 29.999999999999993). Baseline 10, now 7: 30 % (float: 30.000...04)."""
    result = outcomes.course_outcome(
        [s(1, "2026-03-02", 7)],
        days("2026-03-02", [5] * 9 + [4]),
        D("2026-03-02"),
        D("2026-03-11"),
    )
    [span] = result.intervals
    _points, percent = outcomes.change(result.baseline, span.mean)
    assert span.mean == 4.9 and percent == 30 and outcomes.immpact_band(percent) == "moderate"
    assert (7 - 4.9) / 7 * 100 < 30  # what a float comparison saw
    _points, percent = outcomes.change(10, 7)
    assert percent == 30 and outcomes.immpact_band(percent) == "moderate"
    assert (result.current, result.current_date) == (4, D("2026-03-11"))  # now: the last day


def test_half_the_baseline_is_exactly_the_goal():
    """Baseline 9; 4.5 is half: mean of 4 and 5 over two days."""
    assert outcomes.reached(9, statistics.fmean([4, 5]))
    assert not outcomes.reached(9, statistics.fmean([5, 5, 4]))  # 4.67 > 4.5
    assert outcomes.reached(7, 3.5) and not outcomes.reached(7, statistics.fmean([3, 4, 4]))


def test_printed_percent_never_crosses_its_band():
    cases = [
        (Fraction(497, 10), (49.7, 1)),  # "49.7 %" beside moderate, not "50 %"
        (Fraction(625, 10), (63.0, 0)),  # halves round up; same band
        (Fraction(2999, 100), (29.99, 2)),  # 30.0 would be moderate
        (Fraction(29999, 1000), (29.99, 2)),  # still minimal: rounded toward the band
        (Fraction(30), (30.0, 0)),
        (Fraction(96, 10), (9.6, 1)),  # "10 %" would be minimal
        (Fraction(-125, 10), (-12.0, 0)),  # pain rose 12.5 %: none either way
    ]
    for value, printed in cases:
        assert outcomes.printed_percent(value) == printed, value
        assert outcomes.immpact_band(printed[0]) == outcomes.immpact_band(value)


def test_goal_reached_then_lost_is_not_maintained():
    """Baseline 8: after session 1 the diary averages 4 (goal), after session 2 it is 6."""
    sessions = [s(1, "2026-03-02", 8), s(2, "2026-03-09", 5)]
    entries = days("2026-03-02", [4] * 7) + days("2026-03-09", [6] * 3)
    open_course = outcomes.course_outcome(sessions, entries, D("2026-03-02"), D("2026-03-11"))
    assert (open_course.goal_session, open_course.goal) == (1, "not_maintained")
    never = days("2026-03-02", [6] * 10)
    assert outcomes.course_outcome(sessions, never, D("2026-03-02"), D("2026-03-11")).goal == (
        "not_yet"
    )
    closed = outcomes.course_outcome(sessions, never, D("2026-03-02"), D("2026-03-11"), closed=True)
    assert closed.goal == "not_reached"


def test_today_is_not_missing_while_it_lasts():
    entries = days("2026-03-02", [5, 5])  # 2 and 3 March
    # today the 4th, nothing entered yet: 2 days recorded of 2, nothing missing
    done = outcomes.completeness(entries, D("2026-03-02"), D("2026-03-04"), D("2026-03-04"))
    assert (done.recorded, done.missing, done.days) == (2, 0, 2)
    # the 5th: the 4th is over and missing; the 5th is not counted yet
    done = outcomes.completeness(entries, D("2026-03-02"), D("2026-03-05"), D("2026-03-05"))
    assert (done.recorded, done.missing, done.days) == (2, 1, 3)
    # once today's entry is in, today counts
    done = outcomes.completeness(
        entries + days("2026-03-05", [4]), D("2026-03-02"), D("2026-03-05"), D("2026-03-05")
    )
    assert (done.recorded, done.missing, done.days) == (3, 1, 4)


def test_completeness_over_the_dst_change_in_rome(monkeypatch):
    """25 October 2026 has 25 hours in Rome; it is still one diary day."""
    entries = days("2026-10-24", [5, 5, 5])
    done = outcomes.completeness(entries, D("2026-10-24"), D("2026-10-26"))
    assert (done.days, done.missing) == (3, 0)
    for moment, day in [
        (datetime(2026, 10, 24, 22, 30, tzinfo=UTC), "2026-10-25"),  # CEST, +2
        (datetime(2026, 10, 25, 22, 30, tzinfo=UTC), "2026-10-25"),  # CET, +1: 23:30
        (datetime(2026, 10, 25, 23, 30, tzinfo=UTC), "2026-10-26"),
    ]:
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        assert clock.today("Europe/Rome") == D(day)


def test_reference_changes_are_table_1s():
    for group, (mean, sd) in (("A", REFERENCE.change_full), ("B", REFERENCE.change_half)):
        change = [final - basal for basal, final, _n in TABLE_1[group]]
        assert (round(statistics.mean(change), 1), round(statistics.stdev(change), 1)) == (
            mean,
            sd,
        )
    finals = [final for rows in TABLE_1.values() for _b, final, _n in rows]
    assert round(statistics.mean(finals), 1) == REFERENCE.text_figure  # what the text says


# --- property tests -------------------------------------------------------------------------

nrs = st.integers(min_value=0, max_value=10)


@st.composite
def course(draw):
    start = D("2026-03-02")
    n = draw(st.integers(min_value=1, max_value=5))
    gaps = draw(st.lists(st.integers(min_value=1, max_value=10), min_size=n, max_size=n))
    day, sessions = start, []
    for k, gap in enumerate(gaps, start=1):
        sessions.append({"number": k, "date": day, "nrs_before": draw(st.none() | nrs)})
        day += timedelta(days=gap)
    end = day
    chosen = draw(st.sets(st.integers(min_value=-3, max_value=(end - start).days), max_size=40))
    entries = []
    for offset in sorted(chosen):
        avg = draw(nrs)
        worst = min(10, avg + draw(st.integers(0, 3)))
        entries.append(
            {
                "day": start + timedelta(days=offset),
                "avg_nrs": avg,
                "worst_nrs": worst,
                "late": False,
            }
        )
    return sessions, entries, start, end


def _figures(result):
    return (result.baseline, result.current, result.points, result.percent, result.band,
            result.goal_session, result.goal, result.completeness)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(course(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_the_order_of_entry(data, rnd):
    sessions, entries, start, end = data
    expected = _figures(outcomes.course_outcome(sessions, entries, start, end))
    shuffled = list(sessions)
    rnd.shuffle(shuffled)
    # the numbers as typed follow the typing order, not the dates
    typed = [dict(row, number=k) for k, row in enumerate(shuffled, start=1)]
    mixed = list(entries)
    rnd.shuffle(mixed)
    assert _figures(outcomes.course_outcome(typed, mixed, start, end)) == expected


BANDS = ["none", "minimal", "moderate", "substantial"]


@given(st.integers(1, 10), nrs, nrs)
def test_band_never_falls_as_pain_falls(base, a, b):
    lower, higher = sorted((a, b))
    _p, less_pain = outcomes.change(base, lower)
    _p, more_pain = outcomes.change(base, higher)
    assert BANDS.index(outcomes.immpact_band(less_pain)) >= BANDS.index(
        outcomes.immpact_band(more_pain)
    )


@given(nrs, st.lists(nrs, min_size=1, max_size=30))
def test_reached_is_exactly_half(base, values):
    mean = statistics.fmean(values)
    assert outcomes.reached(base, mean) == (
        base > 0 and Fraction(sum(values), len(values)) * 2 <= base
    )


@given(st.fractions(min_value=-200, max_value=100, max_denominator=1000))
def test_a_printed_percent_and_its_band_agree(value):
    shown, digits = outcomes.printed_percent(value)
    assert outcomes.immpact_band(shown) == outcomes.immpact_band(value)
    assert digits in (0, 1, 2)
    assert abs(Fraction(shown).limit_denominator(100) - value) <= Fraction(1, 10**digits)


# --- through the pages ------------------------------------------------------------------------


def _record(client, course_id, day, nrs):
    form = client.get(f"/clinic/courses/{course_id}/sessions/new").get_data(as_text=True)
    response = client.post(
        f"/clinic/courses/{course_id}/sessions/new",
        data={
            "csrf_token": csrf_from(form),
            "date": day,
            "nrs_before": nrs,
            "area": "neck",
            "drugs-0-name": "lidocaine",
        },  # fmt: skip
    )
    assert response.status_code == 302


def test_late_recorded_visit_takes_its_place_and_the_pages_agree(app, client, db, world):
    course = patients.create_course(db, world.patient_a, "neck", D("2026-03-02"))
    give_consent(db, course)
    for k in range(4):
        seed.insert_entry(db, course, D("2026-03-09") + timedelta(days=k), f"late-{k}", 3, 4)
    login(client, world.clinician_a)
    _record(client, course, "2026-03-09", 5)  # the day-7 visit, typed first
    _record(client, course, "2026-03-02", 8)  # the day-0 visit, typed second
    sessions = treatments.for_course(db, course)
    assert [(x["number"], x["date"], x["nrs_before"]) for x in sessions] == [
        (1, D("2026-03-02"), 8),
        (2, D("2026-03-09"), 5),
    ]
    page = re.sub(
        r"\s+", " ", client.get(f"/clinic/courses/{course}?lang=en").get_data(as_text=True)
    )
    assert "<dt>Baseline</dt><dd>8 <span" in page and "<dt>Now</dt><dd>3 <span" in page
    assert "-5 points · 63% · substantial" in page
    assert "reached at session 2" in page
    # editing the first visit's date to after the second renumbers them again
    session_id = sessions[0]["id"]
    form = client.get(f"/clinic/sessions/{session_id}/edit").get_data(as_text=True)
    client.post(
        f"/clinic/sessions/{session_id}/edit",
        data={
            "csrf_token": csrf_from(form),
            "date": "2026-03-16",
            "nrs_before": "8",
            "area": "neck",
            "drugs-0-name": "lidocaine",
        },  # fmt: skip
    )
    renumbered = {x["id"]: x["number"] for x in treatments.for_course(db, course)}
    assert renumbered == {session_id: 2, sessions[1]["id"]: 1}


def test_reverse_typed_sessions_print_the_same_pdf_as_sessions_in_order(app, client, db, world):
    """Two courses of one patient, the same visits and diary: one typed in date order, one
    in reverse. Their PDF summaries print the same figures (text of every page, but for the
    time each was generated)."""
    from diary import report
    from tests.test_report import pdf_text

    login(client, world.clinician_a)
    made = []
    for order in (("2026-03-02", 8), ("2026-03-09", 5)), (("2026-03-09", 5), ("2026-03-02", 8)):
        course = patients.create_course(db, world.patient_a, "neck", D("2026-03-02"))
        for k in range(10):
            day = D("2026-03-02") + timedelta(days=k)
            seed.insert_entry(db, course, day, f"rev-{course}-{k}", 6 if k < 7 else 3, 7)
        db.execute("UPDATE courses SET end_date = '2026-03-11' WHERE id = ?", [course])
        give_consent(db, course)
        for day, nrs in order:
            _record(client, course, day, nrs)
        made.append(course)
    texts = []
    for course in made:
        with app.test_request_context():
            text, _reader = pdf_text(report.render_summary(db, course, "en"))
        texts.append([line for line in text.splitlines() if "Generated" not in line
                      and "Given" not in line and "SHA" not in line])  # fmt: skip
    assert texts[0] == texts[1]
    assert any("Session 2" in line for line in texts[0])  # goal at the day-7 visit


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _expected(app, result):
    """The figures of one result as the English pages print them (the one computation:
    outcomes.of_course), to compare every view against."""
    from diary.i18n import format_day, format_number

    day = result.current_date
    with app.test_request_context("/?lang=en"):
        shown = outcomes.printed_percent(result.percent)
        return {
            "baseline": format_number(result.baseline),
            "now": format_number(result.current),
            "date": {style: format_day(day, style) for style in ("short", "medium", "long")}
            if day
            else None,
            "percent": f"{format_number(shown[0], shown[1])}%" if shown else "–",
            "points": format_number(result.points) if result.points is not None else None,
            "goal": result.goal,
        }


def test_fifty_random_courses_print_the_same_figures_in_every_view(app, client, db, world):
    """50 random courses (sessions typed in any order, some not measured, gaps in the
    diary, some closed): the patient's home, the dashboard, the course page, the PDF, the
    CSV and FHIR print the figures of the one computation (outcomes.of_course)."""
    from diary import exports, report
    from diary.queries import courses as course_queries
    from tests.helpers import open_link

    rnd = random.Random(14)
    today = clock.today("Europe/Rome")
    made = []
    for k in range(50):
        patient = patients.create_patient(db, world.clinic_a, f"R-{k:02d}", locale="en")
        start = today - timedelta(days=rnd.randint(10, 40))
        course = patients.create_course(db, patient, "neck", start)
        give_consent(db, course)
        days_ = sorted(rnd.sample(range((today - start).days + 1), k=rnd.randint(1, 4)))
        for offset in reversed(days_) if rnd.random() < 0.5 else days_:  # any typing order
            nrs = rnd.choice([None, *range(11)])
            treatments.add_session(db, course, start + timedelta(days=offset), nrs_before=nrs,
                                   nrs_not_measured=nrs is None, no_drug=True)  # fmt: skip
        for offset in rnd.sample(range((today - start).days + 1), k=rnd.randint(0, 12)):
            avg = rnd.randint(0, 10)
            seed.insert_entry(db, course, start + timedelta(days=offset), f"r{k}-{offset}", avg,
                              min(10, avg + 1))  # fmt: skip
        if rnd.random() < 0.2:
            row = patients.get_course(db, course)
            course_queries.set_end(
                db, row, today - timedelta(days=rnd.randint(0, 3)), actor_id=None
            )
        made.append((k, course, patients.issue_link(db, patient)))
    login(client, world.clinician_a)
    dashboard = ""
    for page in (1, 2):
        dashboard += client.get(f"/clinic/?sort=code&page={page}&lang=en").get_data(as_text=True)
    checked = {"home": 0, "dashboard": 0}
    head = re.search(r"<thead>(.*?)</thead>", dashboard, re.S).group(1)
    columns = [_text(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)]
    assert columns[:3] == ["Patient", "Flags", "Consent"], columns
    for k, course, token in made:
        row = patients.get_course(db, course)
        result = outcomes.of_course(row, treatments.for_course(db, course),
                                    entries_for(db, course), today)  # fmt: skip
        want = _expected(app, result)
        where = f"R-{k:02d}"

        # the course page
        page = client.get(f"/clinic/courses/{course}?lang=en").get_data(as_text=True)
        facts = {k_: _text(v) for k_, v in re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", page, re.S)}
        assert facts["Baseline"].startswith(want["baseline"]), where
        now = f"{want['now']} ( {want['date']['medium']} )" if want["date"] else want["now"]
        assert facts["Now"] == now, (where, facts["Now"], now)
        assert want["percent"] in facts["Change"], where

        # the dashboard (open courses only)
        if row["end_date"] is None:
            found = re.search(rf">{where}</bdi></a>.*?</tr>", dashboard, re.S).group(0)
            values = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", found, re.S)]
            cells = dict(zip(columns[1:], values, strict=True))  # by heading, not position
            assert cells["Baseline"] == want["baseline"], where
            assert cells["Now"] == (
                f"{want['now']} {want['date']['short']}" if want["date"] else want["now"]
            ), where
            assert cells["Change"].split(" · ")[0] == want["percent"], (where, cells["Change"])
            checked["dashboard"] += 1

        # the PDF summary (its HTML; test_report checks the rendering of that HTML)
        with app.test_request_context():
            pdf_html = report.summary_html(db, course, "en")
        values = [
            _text(v)
            for v in re.findall(
                r'<span class="value">(.*?)</span><span class="caption">', pdf_html, re.S
            )
        ]
        assert values[0] == want["baseline"] and values[1] == want["now"], (where, values)
        assert values[2] == (want["points"] or "–") and values[3] == want["percent"], (
            where,
            values,
        )

        # the CSV's outcome row
        with app.test_request_context():
            lines = exports.course_csv(db, course, today).lstrip("\ufeff").splitlines()
        header, *rows = [line.split(",") for line in lines]
        outcome = dict(zip(header, rows[-1], strict=True))
        assert outcome["record"] == "outcome"
        assert outcome["goal"] == want["goal"], where
        assert (outcome["baseline"] or "–") == want["baseline"], where
        assert (outcome["now"] or "–") == want["now"], where
        assert outcome["now_date"] == (
            result.current_date.isoformat() if result.current_date else ""
        )
        assert (outcome["change_percent"] + "%" if outcome["change_percent"] else "–") == want[
            "percent"
        ]

        # FHIR: the course-outcome Observation
        with app.test_request_context():
            bundle = exports.fhir_bundle(db, course, "http://localhost", today)
        (obs,) = [
            e["resource"]
            for e in bundle["entry"]
            if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "course-outcome"
        ]
        components = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
        assert components["goal"]["valueCodeableConcept"]["text"] == want["goal"]
        if result.percent is not None:
            assert f"{components['change_percent']['valueQuantity']['value']:g}%" == want[
                "percent"
            ].replace(",", "")

        # the patient's home
        if want["date"] and rnd.random() < 0.3:  # a sample: each is a sign-in
            phone = app.test_client()
            open_link(phone, token)
            home = _text(phone.get("/home?lang=en").get_data(as_text=True))
            on = want["date"]["long"]
            sentence = (
                f"Your pain went from {want['baseline']} at the start to {want['now']} on {on}."
                if want["baseline"] != "–"
                else f"Your latest pain rating: {want['now']} on {on}."
            )
            assert sentence in home, (where, sentence)
            checked["home"] += 1
    assert checked["dashboard"] >= 30 and checked["home"] >= 5, checked


def entries_for(db, course):
    from diary.queries import entries

    return entries.for_course(db, course)


def test_now_is_the_latest_measurement_of_either_kind():
    """Baseline 8 on 2 March; diary 4.5-ish in the first week; the clinic measures 4 on the
    9th, and the diary says 6 on the 8th: now is the clinic's 4 of the 9th."""
    sessions = [s(1, "2026-03-02", 8), s(2, "2026-03-09", 4)]
    entries = days("2026-03-02", [5, 4, 5, 4, 5, 4, 6])  # 2-8 March
    result = outcomes.course_outcome(sessions, entries, D("2026-03-02"), D("2026-03-10"))
    assert (result.current, result.current_date) == (4, D("2026-03-09"))
    assert (result.points, result.percent, result.band) == (-4, 50, "substantial")
    # the diary of the 9th itself is the later one that day (entered after the visit)
    later = entries + days("2026-03-09", [3])
    result = outcomes.course_outcome(sessions, later, D("2026-03-02"), D("2026-03-10"))
    assert (result.current, result.current_date) == (3, D("2026-03-09"))
    # nothing after the baseline yet: no "now"
    only = outcomes.course_outcome([s(1, "2026-03-02", 8)], [], D("2026-03-02"), D("2026-03-02"))
    assert (only.current, only.points, only.percent) == (None, None, None)
    # before any session: the latest diary day
    diary = outcomes.course_outcome([], days("2026-03-02", [6, 7, 5]), D("2026-03-02"),
                                    D("2026-03-04"))  # fmt: skip
    assert (diary.baseline, diary.current, diary.current_date) == (6, 5, D("2026-03-04"))


def test_session_dates_are_checked(app, client, db, world):
    """Not in the future, not before the course start, one a day unless confirmed."""
    course = patients.create_course(db, world.patient_a, "neck", D("2026-03-02"))
    give_consent(db, course)
    login(client, world.clinician_a)
    path = f"/clinic/courses/{course}/sessions/new?lang=en"
    tomorrow = clock.today("Europe/Rome") + timedelta(days=1)

    def post(day, **extra):
        form = client.get(path).get_data(as_text=True)
        data = {"csrf_token": csrf_from(form), "date": day, "nrs_before": "6", "area": "neck",
                "drugs-0-name": "lidocaine", **extra}  # fmt: skip
        return client.post(path, data=data)

    future = post(tomorrow.isoformat())
    assert future.status_code == 200 and "cannot be in the future" in future.get_data(as_text=True)
    early = post("2026-03-01")
    page = early.get_data(as_text=True)
    assert early.status_code == 200 and "cannot be before the course started (Mar 2, 2026)" in page
    assert treatments.for_course(db, course) == []
    assert post("2026-03-02").status_code == 302
    again = post("2026-03-02")
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "A session is already recorded on Mar 2, 2026" in page
    assert 'name="same_day"' in page  # the box to confirm a second one
    assert len(treatments.for_course(db, course)) == 1
    assert post("2026-03-02", same_day="y").status_code == 302
    assert [x["number"] for x in treatments.for_course(db, course)] == [1, 2]


def test_a_clinic_needs_a_canonical_time_zone(runner, db):
    missing = runner.invoke(args=["clinic", "create", "--name", "Z"])
    assert missing.exit_code != 0 and "--timezone" in missing.output
    for zone in ("localtime", "Asia/Calcutta", "US/Eastern", "EST5EDT", "Mars/Base"):
        out = runner.invoke(args=["clinic", "create", "--name", "Z", "--timezone", zone])
        assert out.exit_code != 0, zone
    assert db.execute("SELECT count(*) FROM clinics").fetchone()[0] == 0
    ok = runner.invoke(args=["clinic", "create", "--name", "Z", "--timezone", "Asia/Kolkata"])
    assert ok.exit_code == 0 and accounts.get_clinic(db, 1)["timezone"] == "Asia/Kolkata"
    zones = clock.timezones()
    assert "UTC" in zones and "Europe/Rome" in zones and "America/Sao_Paulo" in zones
    assert "localtime" not in zones and "Asia/Calcutta" not in zones and 350 < len(zones) < 450


def test_settings_offer_the_canonical_zones(app, client, world):
    admin = app.test_client()
    login(admin, world.admin_a)
    page = admin.get("/clinic/settings").get_data(as_text=True)
    offered = re.findall(
        r'<option (?:selected )?value="([^"]+)"',
        page.split('name="timezone"')[1].split("</select>")[0],
    )
    assert offered == list(clock.timezones())


def test_session_form_errors_are_sentences(app, client, db, world):
    course = patients.current_course(db, world.patient_a)["id"]
    login(client, world.clinician_a)
    path = f"/clinic/courses/{course}/sessions/new?lang=en"
    form = client.get(path).get_data(as_text=True)
    page = client.post(
        path,
        data={
            "csrf_token": csrf_from(form),
            "date": clock.today("Europe/Rome").isoformat(),
            "area": "neck",
            "drugs-0-name": "lidocaine",
            "drugs-1-name": "ketorolac",
            "drugs-1-volume_ml": "80",
            "drugs-2-dose": "5 mg",
        },  # fmt: skip
    ).get_data(as_text=True)
    summary = page.split('class="error-summary"')[1].split("</div>")[0]
    items = re.findall(r'<li><a href="#([^"]+)">(.*?)</a></li>', summary)
    assert ("drugs-1-volume_ml", "Volume (ml), row 2: Enter 0 to 50 ml.") in items
    assert ("drugs-2-name", "Drug, row 3: Enter the drug&#39;s name.") in items
    assert "{" not in summary and "[" not in summary
    assert treatments.for_course(db, course) == []


def test_withdrawal_is_a_dashboard_flag(app, client, db, world):
    from diary.queries import consents

    course = patients.current_course(db, world.patient_a)["id"]
    give_consent(db, course)
    login(client, world.clinician_a)

    def row() -> str:
        html = client.get("/clinic/?lang=en").get_data(as_text=True)
        return re.search(r">A-001</bdi></a>.*?</tr>", html, re.S).group(0)

    assert "flag-withdrawn" not in row()
    consents.withdraw(db, course, locale="it", text="I take back my consent.", user_agent="t")
    assert 'class="flag-withdrawn"' in row() and "consent withdrawn" in row()
    flagged = client.get("/clinic/?flagged=1&lang=en").get_data(as_text=True)
    assert ">A-001</bdi></a>" in flagged
