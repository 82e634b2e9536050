"""Routing rules (pure) and the official administrative data they are seeded from."""

from __future__ import annotations

from callbot.store.routing import Place, Router, official_units, resolve_place

HOAN_KIEM = Place(ward_code="00070", ward_name="Phường Hoàn Kiếm", province_code="01",
                  province_name="Thành phố Hà Nội")


def test_resolve_place_fills_names_and_province() -> None:
    assert resolve_place("70", None) == HOAN_KIEM
    assert resolve_place("00070", "1") == HOAN_KIEM
    assert resolve_place(None, None, default_province="79").province_name == "Thành phố Hồ Chí Minh"
    unknown = resolve_place("99999", None)
    assert unknown.ward_code == "99999" and unknown.ward_name is None and unknown.province_code is None
    assert resolve_place(" ", "") == Place(None, None, None, None)


def test_candidates_in_order() -> None:
    router = Router({"social_welfare": "P{province}-LABOUR", "violation_report": "INSPECTORATE"})
    assert router.candidates(category="other", place=HOAN_KIEM) == ["W00070", "P01-HOTLINE"]
    assert router.candidates(category="emergency", place=HOAN_KIEM) == ["P01-EMERGENCY", "W00070", "P01-HOTLINE"]
    assert router.candidates(category="social_welfare", place=HOAN_KIEM)[0] == "P01-LABOUR"
    assert router.candidates(category="violation_report", place=HOAN_KIEM)[0] == "INSPECTORATE"
    assert router.candidates(category="social_welfare", place=Place(None, None, None, None)) == []


def test_route_skips_units_that_do_not_exist() -> None:
    router = Router({"violation_report": "INSPECTORATE"})
    known = {"W00070", "P01-HOTLINE"}
    assert router.route(category="violation_report", place=HOAN_KIEM, exists=known.__contains__) == "W00070"
    no_ward = Place(None, None, "01", "Thành phố Hà Nội")
    assert router.route(category="other", place=no_ward, exists=known.__contains__) == "P01-HOTLINE"
    assert router.route(category="other", place=Place(None, None, None, None), exists=known.__contains__) is None


def test_official_units() -> None:
    units = list(official_units())
    wards = [u for u in units if u.kind == "ward"]
    assert len(wards) == 3321 and len(units) == 3321 + 34 * 3
    assert len({u.code for u in units}) == len(units)
    by_code = {u.code: u for u in units}
    assert by_code["W00070"].name == "UBND Phường Hoàn Kiếm" and by_code["W00070"].province_code == "01"
    assert sum(1 for u in wards if u.province_code == "01") == 126
    assert sum(1 for u in wards if u.province_code == "79") == 168
