"""Exports of approved visits hold the same figures as the results API, in CSV and XLSX."""

from __future__ import annotations

import csv
import io
from statistics import fmean
from typing import Any

import pytest
from openpyxl import load_workbook

from api.exports import service as export_service
from tests.helpers import login
from tests.results.conftest import API, Answers, Results
from tests.results.conftest import results as results  # the fixture

GOOD = Answers()
POOR = Answers(greeted="no", friendly=3, quick="no", entry_valence=0, till_valence=-3)
KNOCKED = Answers(friendly=1, price_ok="no", entry_valence=-3, till_valence=-3, entry_probe=0)
ANSWERS_PER_VISIT = 4  # greeted, friendly, price_ok, quick

WIDE_HEADER = [
    "visit_id",
    "location_code",
    "location_name",
    "region",
    "channel",
    "wave",
    "visit_day",
    "score",
    "raw_score",
    "knocked_out",
    "basis",
    "ease",
    "emotion",
    "conscious_index",
    "implicit_index",
    "score.entry",
    "entry.greeted",
    "entry.friendly",
    "score.till",
    "till.price_ok",
    "till.quick",
]


def approx(value: float) -> Any:
    return pytest.approx(value, abs=1e-9)


def number(value: Any) -> float | None:
    return None if value in ("", None) else float(value)


def download(
    results: Results, fmt: str, headers: dict[str, str] | None = None, **params: Any
) -> Any:
    response = results.client.get(
        f"{API}/projects/{results.project_id}/exports/visits.{fmt}",
        params=params,
        headers=headers or results.manager,
    )
    assert response.status_code == 200, response.text
    return response


def csv_rows(results: Results, **params: Any) -> list[dict[str, str]]:
    response = download(results, "csv", **params)
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def xlsx_rows(results: Results, **params: Any) -> list[dict[str, Any]]:
    response = download(results, "xlsx", **params)
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    (sheet,) = workbook.worksheets
    header, *body = [list(row) for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(header, row, strict=True)) for row in body]


@pytest.fixture
def seeded(results: Results) -> dict[str, int]:
    """Three approved visits (one in the Spring wave, one at the web shop), one only submitted
    and one rejected: the last two must appear nowhere."""
    ids = {
        "good": results.approved_visit(GOOD, wave="Spring"),
        "poor": results.approved_visit(POOR, location="Alpha/web"),
        "knocked": results.approved_visit(KNOCKED),
        "submitted": results.submitted_visit(GOOD),
    }
    rejected = results.submitted_visit(POOR)
    results.reject(rejected)
    ids["rejected"] = rejected
    return ids


def test_wide_csv_holds_the_results_apis_figures(results: Results, seeded: dict[str, int]) -> None:
    response = download(results, "csv")
    assert response.text.splitlines()[0].split(",") == WIDE_HEADER
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="alpha-visits-wide-')
    assert disposition.endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))

    assert [int(row["visit_id"]) for row in rows] == sorted(
        seeded[name] for name in ("good", "poor", "knocked")
    )
    summary = results.get("summary")
    assert len(rows) == summary["visits"] == 3
    assert fmean(float(row["score"]) for row in rows) == approx(summary["mean_score"])
    assert fmean(float(row["raw_score"]) for row in rows) == approx(summary["mean_raw_score"])
    for level in ("basis", "ease", "emotion"):
        assert fmean(float(row[level]) for row in rows) == approx(summary["levels"][level])
    for step in results.get("steps"):
        scores = [number(row[f"score.{step['step_key']}"]) for row in rows]
        assert fmean(s for s in scores if s is not None) == approx(step["mean_score"])

    by_id = {int(row["visit_id"]): row for row in rows}
    good, poor, knocked = (by_id[seeded[name]] for name in ("good", "poor", "knocked"))
    for row, answers in ((good, GOOD), (poor, POOR), (knocked, KNOCKED)):
        assert (
            row["entry.greeted"],
            int(row["entry.friendly"]),
            row["till.price_ok"],
            row["till.quick"],
        ) == (answers.greeted, answers.friendly, answers.price_ok, answers.quick)
        assert row["score.entry"] != "" and row["score.till"] != ""
    assert (good["wave"], good["location_code"], good["channel"]) == ("Spring", "ALP-0", "physical")
    assert (poor["wave"], poor["location_name"], poor["region"]) == ("", "Web shop", "south")
    assert (poor["entry.greeted"], poor["entry.friendly"], poor["till.quick"]) == ("no", "3", "no")
    assert (knocked["knocked_out"], knocked["score"], knocked["raw_score"]) == (
        "true",
        "0.0",
        "50.0",
    )
    assert good["knocked_out"] == "false"
    assert (float(good["conscious_index"]), float(good["implicit_index"])) == (1.0, 1.0)
    # POOR: conscious (0 + −1) / 2; both probes +1 (the Answers default).
    assert float(poor["conscious_index"]) == approx(-0.5)


def test_long_csv_has_one_row_per_answer_of_the_approved_visits(
    results: Results, seeded: dict[str, int]
) -> None:
    rows = csv_rows(results, layout="long")
    assert len(rows) == 3 * ANSWERS_PER_VISIT
    assert {int(row["visit_id"]) for row in rows} == {
        seeded[name] for name in ("good", "poor", "knocked")
    }
    poor = [row for row in rows if int(row["visit_id"]) == seeded["poor"]]
    assert [(r["phase_key"], r["step_key"], r["question_key"], r["answer"]) for r in poor] == [
        ("arrival", "entry", "greeted", "no"),
        ("arrival", "entry", "friendly", "3"),
        ("pay", "till", "price_ok", "yes"),
        ("pay", "till", "quick", "no"),
    ]
    assert [float(r["step_score"]) for r in poor] == [25.0, 25.0, 50.0, 50.0]
    assert [int(r["conscious_valence"]) for r in poor] == [0, 0, -3, -3]
    assert [float(r["conscious_index"]) for r in poor] == [0.0, 0.0, -1.0, -1.0]
    assert poor[0]["location_code"] == "ALP-WEB"
    steps = {step["step_key"]: step for step in results.get("steps")}
    for step_key, step in steps.items():
        scores = {r["visit_id"]: float(r["step_score"]) for r in rows if r["step_key"] == step_key}
        assert fmean(scores.values()) == approx(step["mean_score"])


def test_filters_select_the_same_visits_as_the_results_api(
    results: Results, seeded: dict[str, int]
) -> None:
    ids = results.world.ids
    for params in ({"wave_id": ids["Spring"]}, {"channel": "online"}, {"region": "north"}):
        rows = csv_rows(results, **params)
        summary = results.get("summary", **params)
        assert len(rows) == summary["visits"], params
        assert fmean(float(row["score"]) for row in rows) == approx(summary["mean_score"])
    assert [int(r["visit_id"]) for r in csv_rows(results, location_id=ids["Alpha/web"])] == [
        seeded["poor"]
    ]
    assert len(csv_rows(results, layout="long", channel="online")) == ANSWERS_PER_VISIT


def test_xlsx_holds_the_same_rows_as_the_csv(results: Results, seeded: dict[str, int]) -> None:
    response = download(results, "xlsx")
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"].endswith('.xlsx"')
    rows = xlsx_rows(results)
    assert list(rows[0]) == WIDE_HEADER
    summary = results.get("summary")
    assert len(rows) == summary["visits"]
    assert fmean(row["score"] for row in rows) == approx(summary["mean_score"])
    for step in results.get("steps"):
        scores = [row[f"score.{step['step_key']}"] for row in rows]
        assert fmean(s for s in scores if s is not None) == approx(step["mean_score"])
    by_id = {row["visit_id"]: row for row in rows}
    knocked = by_id[seeded["knocked"]]
    assert (knocked["knocked_out"], knocked["score"], knocked["entry.friendly"]) == (True, 0, 1)
    assert seeded["submitted"] not in by_id and seeded["rejected"] not in by_id

    long = xlsx_rows(results, layout="long")
    assert len(long) == 3 * ANSWERS_PER_VISIT
    assert {row["visit_id"] for row in long} == {
        seeded[name] for name in ("good", "poor", "knocked")
    }


def test_empty_export_is_a_header_only(results: Results) -> None:
    assert download(results, "csv").text.splitlines() == [",".join(WIDE_HEADER)]
    assert xlsx_rows(results) == []


def test_client_users_export_their_own_projects_without_shopper_identities(
    results: Results, seeded: dict[str, int]
) -> None:
    acme = login(results.client, "acme-viewer")
    for fmt in ("csv", "xlsx"):
        for layout in ("wide", "long"):
            response = download(results, fmt, headers=acme, layout=layout)
            if fmt == "csv":
                text = response.text
            else:
                sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
                text = repr(list(sheet.iter_rows(values_only=True)))
            for identity in ("shopper-1", "shopper_id", "username"):
                assert identity not in text, (fmt, layout, identity)
    base = f"{API}/projects/{results.project_id}/exports/visits"
    for username, status in (("bolt-viewer", 404), ("mgr-b", 404), ("shopper-1", 403)):
        headers = login(results.client, username)
        for fmt in ("csv", "xlsx"):
            response = results.client.get(f"{base}.{fmt}", headers=headers)
            assert response.status_code == status, (username, fmt, response.text)
    bad = results.client.get(f"{base}.csv", params={"layout": "tall"}, headers=results.manager)
    assert bad.status_code == 422


def test_chunk_boundaries_change_nothing(
    results: Results, seeded: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Visits and their steps are two streams read in chunks and merged: chunks of one visit
    and of one step row give the same files."""
    whole = [download(results, "csv", layout=layout).text for layout in ("wide", "long")]
    monkeypatch.setattr(export_service, "CHUNK", 1)
    monkeypatch.setattr(export_service, "STEPS_PER_CHUNK", 1)
    assert [download(results, "csv", layout=layout).text for layout in ("wide", "long")] == whole
    assert len(whole[0].splitlines()) == 4
