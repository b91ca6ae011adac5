"""Roster import from CSV and XLSX: a row-by-row report, bad rows never stop good ones,
re-importing changes nothing, reasons never quote a NIK."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from openpyxl import Workbook

from tests.integration.identity.support import (
    AHMAD_NIK,
    AUDITOR,
    IDENTITY_STREAM,
    RIZKY_NIK,
    SITI_NIK,
    STAFF,
    count_rows,
    engine_of,
    published_all,
)

HEADER = [
    "register_number", "name", "sex", "birth_place", "birth_date", "mother_name",
    "nik", "category", "admission_date",
]  # fmt: skip
GOOD_AHMAD = ["AI-001/2024", "Ahmad Fauzi", "L", "Barabai", "1985-03-12", "Siti Aminah",
              AHMAD_NIK, "A.I", "2024-01-10"]  # fmt: skip
BAD_DATE = ["AI-002/2024", "Budi Santoso", "L", "Barabai", "31-02-1980", "Rahmah",
            RIZKY_NIK, "A.II", "2024-01-11"]  # fmt: skip
GOOD_SITI = ["BI-003/2024", "Siti Rahmah", "P", "Barabai", "05-07-1990", "Fatimah",
             SITI_NIK, "B.I", "2024-01-12"]  # fmt: skip
BAD_SEX = ["AI-004/2024", "Dedi", "X", "Barabai", "1970-01-01", "Nur", "", "A.I",
           "2024-01-12"]  # fmt: skip
NO_NAME = ["AI-005/2024", "", "L", "Barabai", "1971-01-01", "Nur", "", "A.I",
           "2024-01-12"]  # fmt: skip
NIK_IN_DATE = ["AI-006/2024", "Eko", "L", "Barabai", RIZKY_NIK, "Nur", "", "A.I",
               "2024-01-12"]  # fmt: skip
TAKEN = ["AI-001/2024", "Another Person", "L", "Barabai", "1985-03-12", "Siti Aminah",
         AHMAD_NIK, "A.I", "2024-01-10"]  # fmt: skip


def csv_file(rows: list[list[Any]], header: list[str] = HEADER, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(
    client: TestClient, content: bytes, name: str = "roster.csv", headers: dict[str, str] = STAFF
) -> Any:
    response = client.post("/roster/imports", files={"file": (name, content)}, headers=headers)
    return response


def imported(client: TestClient, content: bytes, name: str = "roster.csv") -> dict[str, Any]:
    response = upload(client, content, name)
    assert response.status_code == 201, response.text
    report: dict[str, Any] = response.json()
    return report


def outcomes(report: dict[str, Any]) -> dict[int, tuple[str, str | None]]:
    return {r["row"]: (r["outcome"], r["reason"]) for r in report["rows"]}


def versions(client: TestClient) -> dict[str, int]:
    data = client.get("/inmates", params={"limit": 1000}, headers=AUDITOR).json()["data"]
    return {p["register_number"]: p["version"] for p in data}


def test_a_csv_roster_reports_every_row_and_bad_rows_never_stop_good_ones(
    client: TestClient,
) -> None:
    rows = [GOOD_AHMAD, BAD_DATE, GOOD_SITI, BAD_SEX, NO_NAME, NIK_IN_DATE, TAKEN]

    report = imported(client, csv_file(rows, delimiter=";"))

    by_row = outcomes(report)
    assert [by_row[n][0] for n in range(2, 9)] == [
        "imported", "refused", "imported", "refused", "refused", "refused", "refused",
    ]  # fmt: skip
    assert by_row[3][1] is not None and by_row[3][1].startswith("birth_date:")
    assert by_row[5][1] is not None and by_row[5][1].startswith("sex:")
    assert by_row[6][1] is not None and by_row[6][1].startswith("name:")
    assert by_row[7][1] is not None and by_row[7][1].startswith("birth_date:")
    assert by_row[8][1] is not None and "register number AI-001/2024" in by_row[8][1]
    assert report["counts"] == {"imported": 2, "refused": 5}
    assert client.get(f"/roster/imports/{report['id']}", headers=AUDITOR).json() == report
    people = client.get("/inmates", headers=AUDITOR).json()["data"]
    assert {(p["register_number"], p["custody_status"]) for p in people} == {
        ("AI-001/2024", "detainee"),
        ("BI-003/2024", "convict"),
    }


def test_a_refused_rows_reason_never_contains_the_nik(client: TestClient) -> None:
    report = imported(client, csv_file([GOOD_AHMAD, BAD_DATE, NIK_IN_DATE, TAKEN]))

    for row in report["rows"]:
        for nik in (AHMAD_NIK, RIZKY_NIK):
            assert nik not in (row["reason"] or "")
    assert all(nik not in str(report) for nik in (AHMAD_NIK, RIZKY_NIK, SITI_NIK))


def test_re_importing_the_same_file_changes_nothing(
    client: TestClient, streams: redis.Redis
) -> None:
    content = csv_file([GOOD_AHMAD, BAD_DATE, GOOD_SITI])
    first = imported(client, content)
    published_all(client)
    people, before, events = (
        count_rows(engine_of(client), "inmate"),
        versions(client),
        streams.xlen(IDENTITY_STREAM),
    )
    outbox = count_rows(engine_of(client), "outbox")

    second = imported(client, content)

    published_all(client)
    assert outcomes(second) == {
        2: ("unchanged", None),
        3: outcomes(first)[3],
        4: ("unchanged", None),
    }
    assert count_rows(engine_of(client), "inmate") == people == 2
    assert versions(client) == before
    assert count_rows(engine_of(client), "outbox") == outbox
    assert streams.xlen(IDENTITY_STREAM) == events == 2
    assert second["id"] != first["id"]


def test_an_xlsx_roster_with_the_nik_as_a_number_cell_imports(client: TestClient) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["AI-001/2024", "Ahmad Fauzi", "L", "Barabai", datetime(1985, 3, 12),
                  "Siti Aminah", int(AHMAD_NIK), "A.I", datetime(2024, 1, 10)])  # fmt: skip
    sheet.append(["BI-003/2024", "Siti Rahmah", "P", "Barabai", "05/07/1990", "Fatimah",
                  SITI_NIK, "B.IIa", date(2024, 1, 12)])  # fmt: skip
    sheet.append(["AI-004/2024", "Dedi", "L", "Barabai", "not a date", "Nur", None, "A.I",
                  datetime(2024, 1, 12)])  # fmt: skip
    sheet.append([None] * len(HEADER))  # an empty row is skipped, not refused
    sheet.append([1234, "Eko Prasetyo", "L", "Barabai", datetime(1979, 9, 9), "Nur", None,
                  "A.III", datetime(2024, 1, 12)])  # fmt: skip
    out = io.BytesIO()
    book.save(out)

    report = imported(client, out.getvalue(), "roster.xlsx")

    by_row = outcomes(report)
    assert {n: o for n, (o, _) in by_row.items()} == {
        2: "imported", 3: "imported", 4: "refused", 6: "imported",
    }  # fmt: skip
    assert (by_row[4][1] or "").startswith("birth_date:")
    people = {
        p["register_number"]: p for p in client.get("/inmates", headers=AUDITOR).json()["data"]
    }
    assert people["AI-001/2024"]["nik_status"] == "unverified"  # the number cell read back whole
    assert people["AI-001/2024"]["nik_masked"] == "63.07.**.******.****"
    assert people["BI-003/2024"]["category"] == "B.IIa"
    assert people["1234"]["nik_status"] == "missing"


def test_indonesian_header_names_are_understood(client: TestClient) -> None:
    header = ["No Registrasi", "Nama Lengkap", "Jenis Kelamin", "Tempat Lahir", "Tanggal Lahir",
              "Nama Ibu Kandung", "NIK", "Golongan", "Tanggal Masuk", "Alamat"]  # fmt: skip
    rows = [["AI-001/2024", "Ahmad Fauzi", "Laki-laki", "Barabai", "12-03-1985", "Siti Aminah",
             AHMAD_NIK, "AII", "10-01-2024", "Jl. Murakata 1"]]  # fmt: skip

    report = imported(client, csv_file(rows, header))

    assert report["counts"] == {"imported": 1}
    [shown] = client.get("/inmates", headers=AUDITOR).json()["data"]
    assert (shown["category"], shown["sex"], shown["address"], shown["birth_date"]) == (
        "A.II", "L", "Jl. Murakata 1", "1985-03-12",
    )  # fmt: skip


@pytest.mark.parametrize("dropped", ["name", "birth_date", "admission_date"])
def test_a_file_missing_a_required_column_is_refused_whole(
    client: TestClient, dropped: str
) -> None:
    position = HEADER.index(dropped)
    header = HEADER[:position] + HEADER[position + 1 :]
    rows = [GOOD_AHMAD[:position] + GOOD_AHMAD[position + 1 :]]

    response = upload(client, csv_file(rows, header))

    assert response.status_code == 422
    assert response.json()["code"] == "missing_columns"
    assert dropped in response.json()["detail"]
    assert count_rows(engine_of(client), "inmate") == 0


def _big_roster(size: int) -> bytes:
    rows = []
    first = date(1960, 1, 1)
    for i in range(size):
        born = first + timedelta(days=i * 7)
        female = i % 2 == 1
        day = born.day + (40 if female else 0)
        nik = f"630706{day:02d}{born.month:02d}{born.year % 100:02d}{i + 1:04d}"
        rows.append([f"REG-{i:05d}", f"Warga Binaan {i}", "P" if female else "L", "Barabai",
                     born.isoformat(), f"Ibu {i}", nik, "A.I" if i % 3 else "B.I",
                     "2024-01-10"])  # fmt: skip
    return csv_file(rows)


def test_a_two_thousand_row_roster_imports_in_one_request(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    content = _big_roster(2000)

    started = time.perf_counter()
    report = imported(client, content)
    elapsed = time.perf_counter() - started

    assert report["counts"] == {"imported": 2000}
    assert count_rows(engine_of(client), "inmate") == 2000
    counts = client.get("/reports/nik-status", headers=AUDITOR).json()["counts"]
    assert counts == {"unverified": 2000}
    with capsys.disabled():
        print(f"\n2,000-row roster import: {elapsed:.2f}s ({engine_of(client).dialect.name})")
    assert elapsed < 120
