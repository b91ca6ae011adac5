"""Guards the guard: the scanner the e2e tier runs finds a NIK wherever it is put."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import httpx
import redis

from tests.integration.identity.support import AHMAD_NIK, SITI_NIK
from tests.privacy import PrivacyScanner, known_test_niks

# Built here, not written out, so that no test file holds them (known_test_niks reads them).
UNKNOWN_BUT_SHAPED = "317101" + "4508990007"  # Jakarta, a woman born 05-08-1999
NOT_SHAPED = ("0" * 16, "1234567890" + "123456", "9" * 16)


def scanner() -> PrivacyScanner:
    return PrivacyScanner(known=known_test_niks())


def test_the_test_data_niks_are_known() -> None:
    known = known_test_niks()
    assert {AHMAD_NIK, SITI_NIK} <= known
    assert UNKNOWN_BUT_SHAPED not in known


def test_a_nik_in_no_test_data_is_found_by_its_shape() -> None:
    assert PrivacyScanner().scan("log line", "t", f"serial {UNKNOWN_BUT_SHAPED}.")


def test_a_nik_is_found_however_it_is_written() -> None:
    for text in (
        f"looked up {AHMAD_NIK}",
        f'{{"nik":"{AHMAD_NIK}"}}',
        "nik 6307 0612 0385 0001 refused",
        "NIK 63.07.06.120385.0001",
        f"x{AHMAD_NIK}y",
        f"{AHMAD_NIK[0]}.{AHMAD_NIK[1:]}e+15",  # a NIK that became a float
    ):
        assert scanner().scan("log line", "t", text), text


def test_ids_timestamps_stream_ids_metrics_and_hashes_are_not_niks() -> None:
    found = scanner()
    texts = [
        str(uuid.uuid4()) for _ in range(500)
    ] + [  # sha256 hex digests, as documents and stored keys carry
        hashlib.sha256(str(i).encode()).hexdigest() for i in range(5000)
    ]
    texts += [
        "2024-06-01T12:30:45.123456+07:00",
        "1732771234567-0 1732771234567-12",
        'http_request_duration_seconds_bucket{le="0.005"} 1.732771234567e+09',
        "process_start_time_seconds 1.764302827e+09",
        'sinergi_last_event{stream="sinergi.agreements"} 1.795841082210359e+09',
        " ".join(NOT_SHAPED),  # 16 digits, but no NIK's structure
    ]
    for text in texts:
        found.scan("log line", "t", text)
    assert found.leaks == []


def test_each_place_is_scanned_and_named(tmp_path: Path, redis_url: str) -> None:
    found = scanner()
    (tmp_path / "identity.log").write_text(
        json.dumps({"message": "fine"}) + "\n" + json.dumps({"message": f"nik {SITI_NIK}"}) + "\n"
    )
    found.scan_logs_under(tmp_path)
    client = redis.Redis.from_url(redis_url)
    client.xadd("sinergi.identity", {"__data__": json.dumps({"nik": AHMAD_NIK})})
    found.scan_streams(client)
    request = httpx.Request("GET", "http://127.0.0.1:1/inmates/x")
    found.scan_response(httpx.Response(404, text=f"person {AHMAD_NIK} not found", request=request))
    scrape = httpx.Request("GET", "http://127.0.0.1:1/metrics")
    found.scan_response(httpx.Response(200, text=f'hits{{nik="{SITI_NIK}"}} 1', request=scrape))

    assert [(leak.kind, leak.where.split()[0]) for leak in found.leaks] == [
        ("log line", "identity.log:2"),
        ("stream entry", "sinergi.identity"),
        ("error body", "GET"),
        ("metrics scrape", "GET"),
    ]
    assert all(AHMAD_NIK not in str(x) and SITI_NIK not in str(x) for x in found.leaks)


def test_an_entry_the_test_itself_wrote_is_input_not_output(redis_url: str) -> None:
    found = scanner()
    client = redis.Redis.from_url(redis_url)
    planted = client.xadd("sinergi.identity", {"__data__": json.dumps({"nik": AHMAD_NIK})})
    found.planted.add(
        ("sinergi.identity", planted.decode() if isinstance(planted, bytes) else planted)
    )
    found.scan_streams(client)
    client.xadd("sinergi.identity", {"__data__": json.dumps({"nik": AHMAD_NIK})})
    found.scan_streams(client)

    assert len(found.leaks) == 1
