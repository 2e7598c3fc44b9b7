"""Locations: CSV import (all rows or none, every bad row reported), CRUD and list filters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.accounts.models import Role
from api.db import Database
from tests.helpers import World, login

HEADER = "code,name,kind,address,city,latitude,longitude,region,url,phone,tags\n"


@pytest.fixture
def world(db: Database) -> World:
    world = World(db)
    world.project("Gamma", client="Gamut", manager="mgr-g", locations=0)
    world.project("Delta", client="Dune", manager="mgr-d", locations=0)
    with db.session() as session:
        world.user(session, "admin", Role.admin)
    return world


@pytest.fixture
def mgr(client: TestClient, world: World) -> dict[str, str]:
    return login(client, "mgr-g")


def url(world: World, project: str = "Gamma") -> str:
    return f"/api/v1/projects/{world.ids[project]}/locations"


def upload(
    client: TestClient, world: World, headers: dict[str, str], content: bytes | str
) -> httpx.Response:
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        f"{url(world)}/import", files={"file": ("locations.csv", data, "text/csv")}, headers=headers
    )


def all_locations(
    client: TestClient, world: World, headers: dict[str, str]
) -> list[dict[str, Any]]:
    response = client.get(url(world), params={"limit": 500}, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def by_code(client: TestClient, world: World, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {loc["code"]: loc for loc in all_locations(client, world, headers)}


# ---------------------------------------------------------------- good files

GOOD_FILES: dict[str, bytes] = {
    "comma": (
        HEADER
        + "AMS-1,Kalverstraat,physical,Kalverstraat 1,Amsterdam,52.37,4.89,north,,,mall;late\n"
        + "WEB-1,Webshop,online,,,,,,https://shop.example,,\n"
        + "TEL-1,Hotline,phone,,,,,,,+31 20 123 4567,\n"
    ).encode(),
    "semicolon with decimal commas": (
        HEADER.replace(",", ";")
        + 'AMS-1;Kalverstraat;physical;Kalverstraat 1;Amsterdam;52,37;4,89;north;;;"mall;late"\n'
        + "WEB-1;Webshop;online;;;;;;https://shop.example;;\n"
        + "TEL-1;Hotline;phone;;;;;;;+31 20 123 4567;\n"
    ).encode(),
    "UTF-8 with BOM, CRLF, blank line": (
        "\ufeff"
        + HEADER.replace("\n", "\r\n")
        + "AMS-1,Kalverstraat,physical,Kalverstraat 1,Amsterdam,52.37,4.89,north,,,mall;late\r\n"
        + "\r\n"
        + "WEB-1,Webshop,online,,,,,,https://shop.example,,\r\n"
        + "TEL-1,Hotline,phone,,,,,,,+31 20 123 4567,\r\n"
    ).encode("utf-8"),
}


@pytest.mark.parametrize("content", GOOD_FILES.values(), ids=GOOD_FILES.keys())
def test_good_file_imports_every_row(
    client: TestClient, world: World, mgr: dict[str, str], content: bytes
) -> None:
    response = upload(client, world, mgr, content)

    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 3, "updated": 0}
    rows = by_code(client, world, mgr)
    assert set(rows) == {"AMS-1", "WEB-1", "TEL-1"}
    store = rows["AMS-1"]
    assert (store["kind"], store["latitude"], store["longitude"]) == ("physical", 52.37, 4.89)
    assert (store["city"], store["region"], store["tags"]) == (
        "Amsterdam",
        "north",
        ["mall", "late"],
    )
    assert (rows["WEB-1"]["kind"], rows["WEB-1"]["url"]) == ("online", "https://shop.example")
    assert (rows["TEL-1"]["kind"], rows["TEL-1"]["phone"]) == ("phone", "+31 20 123 4567")


def test_only_code_and_name_are_required_columns(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    response = upload(client, world, mgr, "name,code,kind,url\nSite,S-1,online,https://s.example\n")

    assert response.json() == {"imported": 1, "updated": 0}


def test_reimport_updates_existing_codes(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    upload(client, world, mgr, GOOD_FILES["comma"])
    before = by_code(client, world, mgr)

    response = upload(
        client,
        world,
        mgr,
        "code,name,latitude,longitude,region\n"
        "AMS-1,Kalverstraat (renovated),52.38,4.9,south\n"
        "UTR-1,Hoog Catharijne,52.09,5.11,middle\n",
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"imported": 1, "updated": 1}
    after = by_code(client, world, mgr)
    assert set(after) == {"AMS-1", "WEB-1", "TEL-1", "UTR-1"}
    assert after["AMS-1"]["id"] == before["AMS-1"]["id"]
    assert (after["AMS-1"]["name"], after["AMS-1"]["region"]) == (
        "Kalverstraat (renovated)",
        "south",
    )
    # Columns the file leaves out keep their values.
    kept = ("address", "city", "tags", "kind")
    assert {k: after["AMS-1"][k] for k in kept} == {k: before["AMS-1"][k] for k in kept}


def test_reimport_of_names_only_keeps_coordinates_and_a_blank_cell_clears(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    upload(client, world, mgr, GOOD_FILES["comma"])

    response = upload(client, world, mgr, "code,name,city\nAMS-1,Kalverstraat 2,\n")

    assert response.json() == {"imported": 0, "updated": 1}, response.text
    store = by_code(client, world, mgr)["AMS-1"]
    assert (store["name"], store["city"]) == ("Kalverstraat 2", "")
    assert (store["latitude"], store["longitude"], store["region"]) == (52.37, 4.89, "north")


def test_a_new_code_still_needs_every_field_its_kind_requires(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    upload(client, world, mgr, GOOD_FILES["comma"])

    response = upload(client, world, mgr, "code,name\nAMS-1,Renamed\nNEW-1,No coordinates\n")

    assert response.status_code == 422
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(3, "latitude")]
    assert by_code(client, world, mgr)["AMS-1"]["name"] == "Kalverstraat"


# ---------------------------------------------------------------- bad files: nothing is imported


def test_every_bad_row_is_reported_and_nothing_imported(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    upload(client, world, mgr, "code,name,latitude,longitude\nOLD-1,Kept,52,4\n")
    content = (
        "code,name,kind,latitude,longitude,url\n"
        "A,Shop A,physical,52.1,4.3,\n"  # line 2: fine
        "B,,physical,52.1,4.3,\n"  # line 3: no name
        "C,Shop C,physical,abc,4.3,\n"  # line 4: latitude not a number
        "D,Shop D,shop,52,4,\n"  # line 5: unknown kind
        "E,Shop E,physical,52,4,\n"  # line 6: fine
        "A,Shop A again,physical,1,1,\n"  # line 7: duplicate code
        "F,Shop F,physical,95,4,\n"  # line 8: latitude out of range
    )

    response = upload(client, world, mgr, content)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert [(e["line"], e["field"]) for e in problem["errors"]] == [
        (3, "name"),
        (4, "latitude"),
        (5, "kind"),
        (7, "code"),
        (8, "latitude"),
    ]
    assert "duplicate of line 2" in problem["errors"][3]["message"]
    assert "lines 3, 4, 5, 7, 8" in problem["detail"]
    assert set(by_code(client, world, mgr)) == {"OLD-1"}


BAD_FILES: dict[str, tuple[str, int, str | None, str]] = {
    "unknown column": ("code,name,colour\nA,Shop,blue\n", 1, "colour", "unknown column"),
    "missing required column": ("code,city\nA,Delft\n", 1, "name", "required column missing"),
    "duplicate code": (
        "code,name,latitude,longitude\nA,One,52,4\nB,Two,52,4\nA,Three,52,4\n",
        4,
        "code",
        "duplicate of line 2",
    ),
    "physical without latitude and longitude": (
        "code,name,kind\nA,Shop,physical\n",
        2,
        "latitude",
        "needs latitude and longitude",
    ),
    "physical without longitude": (
        "code,name,latitude\nA,Shop,52.1\n",
        2,
        "longitude",
        "needs latitude and longitude",
    ),
    "online without url": ("code,name,kind\nW,Web,online\n", 2, "url", "needs a url"),
    "phone without number": ("code,name,kind\nP,Line,phone\n", 2, "phone", "needs a phone number"),
    "more values than columns": (
        "code,name,latitude,longitude\nA,Shop,52,4,extra\n",
        2,
        None,
        "more values than columns",
    ),
    "header only": ("code,name\n", 2, None, "no rows"),
    "empty": ("", 1, None, "no header row"),
}


@pytest.mark.parametrize(
    ("content", "line", "field", "message"), BAD_FILES.values(), ids=BAD_FILES.keys()
)
def test_bad_file_refused_naming_line_and_field(
    client: TestClient,
    world: World,
    mgr: dict[str, str],
    content: str,
    line: int,
    field: str | None,
    message: str,
) -> None:
    response = upload(client, world, mgr, content)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["line"], error["field"]) == (line, field)
    assert message in error["message"]
    assert all_locations(client, world, mgr) == []


def test_file_that_is_not_utf8_refused(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    response = upload(client, world, mgr, "code,name\nA,Café\n".encode("latin-1"))

    assert response.status_code == 422, response.text
    assert "UTF-8" in response.json()["detail"]


def test_import_needs_a_manager_of_the_project(client: TestClient, world: World) -> None:
    content = "code,name,latitude,longitude\nA,Shop,52,4\n"

    assert upload(client, world, login(client, "mgr-d"), content).status_code == 404
    assert upload(client, world, login(client, "gamut-viewer"), content).status_code == 403
    assert upload(client, world, login(client, "admin"), content).status_code == 200


# ---------------------------------------------------------------- CRUD


def test_location_created_read_and_updated(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    created = client.post(
        url(world),
        json={"code": "A", "name": "Shop", "latitude": 52.1, "longitude": 4.3, "tags": ["x"]},
        headers=mgr,
    )
    assert created.status_code == 201, created.text
    location_id = created.json()["id"]
    assert created.json()["geofence_radius_m"] == 150

    patched = client.patch(
        f"{url(world)}/{location_id}", json={"name": "Shop (new)", "active": False}, headers=mgr
    )
    assert patched.status_code == 200, patched.text

    read = client.get(f"{url(world)}/{location_id}", headers=login(client, "gamut-viewer"))
    assert read.status_code == 200, read.text
    assert (read.json()["name"], read.json()["active"], read.json()["code"]) == (
        "Shop (new)",
        False,
        "A",
    )


def test_duplicate_code_refused(client: TestClient, world: World, mgr: dict[str, str]) -> None:
    body = {"code": "A", "name": "Shop", "latitude": 52.1, "longitude": 4.3}
    assert client.post(url(world), json=body, headers=mgr).status_code == 201

    again = client.post(url(world), json=body | {"name": "Other"}, headers=mgr)

    assert again.status_code == 409, again.text
    assert again.json()["field"] == "code"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "A", "name": "Shop"}, "latitude"),
        ({"code": "A", "name": "Shop", "kind": "online"}, "url"),
        ({"code": "A", "name": "Shop", "latitude": 91, "longitude": 4}, "latitude"),
        ({"code": "", "name": "Shop", "latitude": 52, "longitude": 4}, "code"),
    ],
)
def test_invalid_location_refused(
    client: TestClient, world: World, mgr: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post(url(world), json=body, headers=mgr)

    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_update_that_breaks_a_location_refused(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    created = client.post(
        url(world),
        json={"code": "A", "name": "Shop", "latitude": 52.1, "longitude": 4.3},
        headers=mgr,
    ).json()

    response = client.patch(f"{url(world)}/{created['id']}", json={"latitude": None}, headers=mgr)

    assert response.status_code == 422, response.text
    assert "latitude" in response.json()["errors"][0]["message"]
    assert client.get(f"{url(world)}/{created['id']}", headers=mgr).json()["latitude"] == 52.1


def test_location_of_another_project_not_found(client: TestClient, world: World) -> None:
    other = client.post(
        url(world, "Delta"),
        json={"code": "D", "name": "Delta shop", "latitude": 52, "longitude": 4},
        headers=login(client, "mgr-d"),
    ).json()
    admin = login(client, "admin")

    assert client.get(f"{url(world)}/{other['id']}", headers=admin).status_code == 404
    assert client.get(url(world, "Delta"), headers=login(client, "mgr-g")).status_code == 404


# ---------------------------------------------------------------- list filters and pages

FILTER_FILE = (
    "code,name,kind,city,latitude,longitude,region,url,tags\n"
    "N-1,Centre store,physical,Groningen,53.2,6.5,north,,mall\n"
    "N-2,Station kiosk,physical,Assen,53,6.5,north,,station;late\n"
    "S-1,Market store,physical,Maastricht,50.8,5.7,south,,\n"
    "S-2,Outlet,physical,Roermond,51.2,6,south,,mall;outlet\n"
    "W-1,Web store,online,,,,,https://w.example,\n"
    "S-3,Mall corner,physical,Venlo,51.4,6.2,south,,mall\n"
)

FILTERS: dict[str, tuple[dict[str, str], list[str]]] = {
    "region": ({"region": "north"}, ["N-1", "N-2"]),
    "kind": ({"kind": "online"}, ["W-1"]),
    "tag": ({"tag": "mall"}, ["N-1", "S-2", "S-3"]),
    "text in name": ({"q": "STORE"}, ["N-1", "S-1", "W-1"]),
    "text in code": ({"q": "s-"}, ["S-1", "S-2", "S-3"]),
    "text in city": ({"q": "roer"}, ["S-2"]),
    "combined": ({"region": "south", "tag": "mall"}, ["S-2", "S-3"]),
    "nothing": ({"region": "east"}, []),
}


@pytest.mark.parametrize(("params", "codes"), FILTERS.values(), ids=FILTERS.keys())
def test_list_filters(
    client: TestClient, world: World, mgr: dict[str, str], params: dict[str, str], codes: list[str]
) -> None:
    upload(client, world, mgr, FILTER_FILE)

    response = client.get(url(world), params=params, headers=mgr)

    assert response.status_code == 200, response.text
    assert [loc["code"] for loc in response.json()["items"]] == codes


def pages(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[list[str]]:
    found: list[list[str]] = []
    cursor = None
    while True:
        response = client.get(
            path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers
        )
        assert response.status_code == 200, response.text
        found.append([loc["code"] for loc in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return found


def test_list_pages_through_every_location_once(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    upload(client, world, mgr, FILTER_FILE)

    assert pages(client, url(world), mgr, limit=4) == [
        ["N-1", "N-2", "S-1", "S-2"],
        ["W-1", "S-3"],
    ]


def test_tag_filter_pages_reach_every_match(
    client: TestClient, world: World, mgr: dict[str, str]
) -> None:
    upload(client, world, mgr, FILTER_FILE)

    assert pages(client, url(world), mgr, limit=2, tag="mall") == [["N-1", "S-2"], ["S-3"]]
