"""Outside data: CSV import (all rows or none, bad rows by line), listing, metrics, correlation.

The correlation project (tests/results/conftest.py's journey) has one approved visit per location:

| location | answers | visit score | NPS |
| --- | --- | --- | --- |
| ALP-0 | all yes, friendly 5 | 100 | 50 |
| ALP-1 | friendly 1 (entry 50) | (50 + 2·100)/3 = 83.33 | 40 |
| ALP-2 | quick no (till 50) | (100 + 2·50)/3 = 66.67 | 10 |
| ALP-3 | greeted no, friendly 1, quick no | (0 + 2·50)/3 = 33.33 | 20 |
| ALP-4 | price_ok no (knock-out) | 0 | −30 |
| ALP-WEB | no visit | – | 99 |

By hand, scores / (100/3) = 3, 2.5, 2, 1, 0 (r is scale-free): mean 1.7, deviations 1.3, 0.8,
0.3, −0.7, −1.7; NPS mean 18, deviations 32, 22, −8, 2, −48. Σ dx·dy = 41.6 + 17.6 − 2.4 − 1.4
+ 81.6 = 137; Σ dx² = 5.8; Σ dy² = 3880; r = 137 / √22504 = 0.913252.
Ranks: scores 5, 4, 3, 2, 1; NPS 5, 4, 2, 3, 1; Σ d² = 2; rho = 1 − 6·2 / (5·24) = 0.9.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from api.locations.models import LocationCreate
from api.locations.service import create_location
from api.outside_data.models import OutsideFigure, OutsideImport
from api.projects.models import Project
from tests.helpers import login
from tests.results.conftest import API, Answers, Results, checkin_day


def upload(results: Results, content: str | bytes, headers: dict[str, str] | None = None) -> Any:
    data = content.encode() if isinstance(content, str) else content
    return results.client.post(
        f"{API}/projects/{results.project_id}/outside-data",
        files={"file": ("nps.csv", data, "text/csv")},
        headers=headers or results.manager,
    )


def figures(results: Results, **params: Any) -> list[dict[str, Any]]:
    response = results.client.get(
        f"{API}/projects/{results.project_id}/outside-data",
        params={"limit": 500, **params},
        headers=results.manager,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def stored(results: Results) -> tuple[int, int]:
    with results.db.session(read_only=True) as session:
        return (
            session.exec(select(func.count()).select_from(OutsideFigure)).one(),
            session.exec(select(func.count()).select_from(OutsideImport)).one(),
        )


def test_import_stores_every_row_and_lists_them(results: Results) -> None:
    response = upload(
        results,
        "location_code,metric,value,period\n"
        "ALP-0,NPS,42,2026-Q3\n"
        "ALP-1,NPS,-5.5,2026-Q3\n"
        "ALP-1,CSAT,8.1,\n",
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["imported"], report["replaced"]) == (3, 0)
    assert report["metrics"] == ["CSAT", "NPS"]
    rows = figures(results)
    assert [(r["location_code"], r["metric"], r["period"], r["value"]) for r in rows] == [
        ("ALP-0", "NPS", "2026-Q3", 42.0),
        ("ALP-1", "NPS", "2026-Q3", -5.5),
        ("ALP-1", "CSAT", None, 8.1),
    ]
    assert {r["import_id"] for r in rows} == {report["import_id"]}
    assert [r["location_code"] for r in figures(results, metric="NPS")] == ["ALP-0", "ALP-1"]
    metrics = results.client.get(
        f"{API}/projects/{results.project_id}/outside-data/metrics", headers=results.manager
    ).json()
    assert metrics == [
        {"metric": "CSAT", "locations": 1, "figures": 1, "periods": []},
        {"metric": "NPS", "locations": 2, "figures": 2, "periods": ["2026-Q3"]},
    ]


def test_reimport_replaces_the_value_of_the_same_location_metric_and_period(
    results: Results,
) -> None:
    first = upload(results, "location_code,metric,value,period\nALP-0,NPS,42,2026-Q3\n").json()
    second = upload(
        results,
        "location_code;metric;value;period\nALP-0;NPS;37,5;2026-Q3\nALP-0;NPS;12;2026-Q4\n",
    )
    assert second.status_code == 201, second.text
    assert (second.json()["imported"], second.json()["replaced"]) == (1, 1)
    rows = figures(results)
    assert [(r["period"], r["value"]) for r in rows] == [("2026-Q3", 37.5), ("2026-Q4", 12.0)]
    assert rows[0]["import_id"] == second.json()["import_id"] != first["import_id"]
    assert stored(results) == (2, 2)


def test_bad_rows_are_all_reported_by_line_and_nothing_is_stored(results: Results) -> None:
    upload(results, "location_code,metric,value\nALP-0,NPS,1\n")
    before = figures(results)
    response = upload(
        results,
        "location_code,metric,value,period\n"
        "ALP-0,NPS,42,Q3\n"  # 2: good
        "NOPE,NPS,10,Q3\n"  # 3: unknown location
        "ALP-1,NPS,lots,Q3\n"  # 4: not a number
        "ALP-0,NPS,43,Q3\n"  # 5: duplicate of line 2
        "ALP-2,,5,Q3\n"  # 6: no metric
        "\n"  # 7: blank, skipped
        "ALP-2,NPS,nan,Q3\n"  # 8: not finite
        "ALP-2,NPS,1,Q3,extra\n",  # 9: too many values
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert "nothing was imported" in problem["detail"]
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (3, "location_code"),
        (4, "value"),
        (5, "location_code"),
        (6, "metric"),
        (8, "value"),
        (9, None),
    ]
    assert "line 2" in problem["errors"][2]["message"]
    assert figures(results) == before
    assert stored(results) == (1, 1)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("location_code,metric\nALP-0,NPS\n", "value"),
        ("location_code,metric,value,score\nALP-0,NPS,1,2\n", "score"),
        ("", None),
        (b"location_code,metric,value\n\xff\xfe,NPS,1\n", None),
        ("location_code,metric,value\n", None),
    ],
)
def test_unusable_files_are_refused_whole(
    results: Results, content: str | bytes, field: str | None
) -> None:
    response = upload(results, content)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field
    assert stored(results) == (0, 0)


def test_client_reads_but_cannot_upload(results: Results) -> None:
    upload(results, "location_code,metric,value\nALP-0,NPS,1\n")
    viewer = login(results.client, "acme-viewer")
    assert upload(results, "location_code,metric,value\nALP-0,NPS,2\n", viewer).status_code == 403
    listed = results.client.get(f"{API}/projects/{results.project_id}/outside-data", headers=viewer)
    assert listed.status_code == 200
    assert [r["value"] for r in listed.json()["items"]] == [1.0]


# ---------------------------------------------------------------- correlation


VISITS = {
    "Alpha/loc0": Answers(),
    "Alpha/loc1": Answers(friendly=1),
    "Alpha/loc2": Answers(quick="no"),
    "Alpha/loc3": Answers(greeted="no", friendly=1, quick="no"),
    "Alpha/loc4": Answers(price_ok="no"),
}
NPS = "location_code,metric,value\nALP-0,NPS,50\nALP-1,NPS,40\nALP-2,NPS,10\nALP-3,NPS,20\n"
NPS += "ALP-4,NPS,-30\nALP-WEB,NPS,99\n"


@pytest.fixture
def scored(results: Results) -> Results:
    with results.db.session() as session:
        project = session.get(Project, results.project_id)
        assert project is not None
        for index in (3, 4):
            results.world.ids[f"Alpha/loc{index}"] = (
                create_location(
                    session,
                    project=project,
                    data=LocationCreate(
                        code=f"ALP-{index}", name=f"Shop {index}", latitude=52.1, longitude=4.1
                    ),
                ).id
                or 0
            )
    for location, answers in VISITS.items():
        results.approved_visit(answers, location=location)
    assert upload(results, NPS).status_code == 201
    return results


def correlation(results: Results, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return results.client.get(
        f"{API}/projects/{results.project_id}/outside-data/correlation",
        params=params,
        headers=headers or results.manager,
    )


def test_correlation_equals_the_hand_computed_values(scored: Results) -> None:
    response = correlation(scored, metric="NPS")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["n"] == 5
    assert body["pearson"] == pytest.approx(137 / math.sqrt(22504), abs=1e-9)
    assert body["pearson"] == pytest.approx(0.913252, abs=1e-6)
    assert body["spearman"] == pytest.approx(0.9, abs=1e-9)
    assert body["note"] is None
    rows = {row["code"]: row for row in body["locations"]}
    assert rows["ALP-1"]["mean_score"] == pytest.approx(250 / 3)
    assert (rows["ALP-1"]["visits"], rows["ALP-1"]["value"]) == (1, 40.0)
    assert (rows["ALP-WEB"]["visits"], rows["ALP-WEB"]["mean_score"]) == (0, None)
    assert set(rows) == {"ALP-0", "ALP-1", "ALP-2", "ALP-3", "ALP-4", "ALP-WEB"}


def test_correlation_follows_the_results_filters_and_notes_too_few(scored: Results) -> None:
    yesterday = (checkin_day() - timedelta(days=1)).isoformat()
    body = correlation(scored, metric="NPS", date_to=yesterday).json()
    assert (body["n"], body["pearson"], body["spearman"]) == (0, None, None)
    assert "at least 5" in body["note"]
    one = correlation(scored, metric="NPS", location_id=scored.world.ids["Alpha/loc0"]).json()
    assert one["n"] == 1
    assert "at least 5" in one["note"]


def test_correlation_of_an_unknown_metric_is_404_and_clients_may_read_it(
    scored: Results,
) -> None:
    assert correlation(scored, metric="CSAT").status_code == 404
    viewer = login(scored.client, "acme-viewer")
    response: httpx.Response = correlation(scored, viewer, metric="NPS")
    assert response.status_code == 200
    assert response.json()["n"] == 5
    assert "shopper" not in response.text
