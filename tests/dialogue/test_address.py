"""Addresses against the July 2025 administrative units (callbot.dialogue.address)."""

from __future__ import annotations

import pytest
from vietnam_provinces import Province, Ward

from callbot.dialogue.address import parse_address

HANOI, HCM, DANANG = "Thành phố Hà Nội", "Thành phố Hồ Chí Minh", "Thành phố Đà Nẵng"


def test_gazetteer_holds_the_2025_units(gazetteer) -> None:
    assert len(gazetteer.provinces) == 34 == len(list(Province.iter_all()))
    assert len(gazetteer.wards) == 3321 == len(list(Ward.iter_all()))
    assert len(gazetteer.wards_of(gazetteer.province(HANOI))) == 126
    assert len(gazetteer.wards_of(gazetteer.province(HCM))) == 168
    # official names are kept, with doubled white space normalized
    assert all("  " not in w.name for w in gazetteer.wards.values())
    assert gazetteer.wards["00235"].name == "Phường Đống Đa"


@pytest.mark.parametrize(
    ("spoken", "official"),
    [
        ("Thành phố Hà Nội", HANOI),
        ("hà nội", HANOI),
        ("ha noi", HANOI),
        ("Đà Nẵng", DANANG),
        ("đắk lắk", "Đắk Lắk"),
    ],
)
def test_province_by_any_name(spoken: str, official: str, gazetteer) -> None:
    province = gazetteer.province(spoken)
    assert province is not None and province.name == official


def test_province_aliases_come_from_the_lexicon(gazetteer, lexicon_vi) -> None:
    assert gazetteer.province("sài gòn") is None
    assert gazetteer.province("sài gòn", lexicon_vi.province_aliases).name == HCM


def parse(text: str, lexicon, gazetteer, province: str | None):
    return parse_address(text, lexicon, gazetteer, gazetteer.province(province) if province else None)


@pytest.mark.parametrize(
    ("spoken", "default", "street", "ward", "province"),
    [
        ("số mười hai ngõ ba mươi tư phường đống đa", HANOI, "số 12 ngõ 34", "Phường Đống Đa", HANOI),
        ("số mười hai ngõ ba mươi tư đống đa", HANOI, "số 12 ngõ 34", "Phường Đống Đa", HANOI),  # no "phường"
        ("số mười hai phường dong da", HANOI, "số 12", "Phường Đống Đa", HANOI),  # name heard without tones
        (
            "số mười đường nguyễn trãi thanh xuân",
            HANOI,
            "số 10 đường nguyễn trãi",
            "Phường Thanh Xuân",
            HANOI,
        ),
        (
            "số một trăm linh năm phố hai bà trưng phường hai bà trưng",
            HANOI,
            "số 105 phố hai bà trưng",
            "Phường Hai Bà Trưng",
            HANOI,
        ),
        ("phường ba đình quận ba đình hà nội", HCM, "", "Phường Ba Đình", HANOI),  # a named province wins
        (
            "nhà tôi ở số hai mươi hẻm mười hai xẹt ba phường bến thành",
            HCM,
            "số 20 hẻm 12/3",
            "Phường Bến Thành",
            HCM,
        ),
        ("số tám phường sài gòn", HCM, "số 8", "Phường Sài Gòn", HCM),  # the ward, not the old city name
        ("phường hải châu thành phố đà nẵng", HANOI, "", "Phường Hải Châu", DANANG),
        ("thôn đông xã gia lâm", HANOI, "thôn đông", "Xã Gia Lâm", HANOI),
        ("số một phường bến thành", HANOI, "số 1", "Phường Bến Thành", HCM),  # unique elsewhere: found
        ("phường hoàn kiếm", None, "", "Phường Hoàn Kiếm", HANOI),
    ],
)
def test_resolved(spoken, default, street, ward, province, lexicon_vi, gazetteer) -> None:
    result = parse(spoken, lexicon_vi, gazetteer, default)
    assert result.status == "resolved"
    assert (result.street, result.ward.name, result.province.name) == (street, ward, province)
    assert result.ward.code.isdigit() and len(result.ward.code) == 5


def test_street_named_like_a_province_or_ward_is_a_street(lexicon_vi, gazetteer) -> None:
    huế = parse("số năm phố huế", lexicon_vi, gazetteer, HANOI)
    assert (huế.status, huế.province.name, huế.street) == ("no_ward", HANOI, "số 5 phố huế")
    láng = parse("số bảy phố láng hạ", lexicon_vi, gazetteer, HANOI)
    assert láng.status == "no_ward" and láng.street == "số 7 phố láng hạ"


@pytest.mark.parametrize(
    ("spoken", "default", "district"),
    [
        ("ngõ ba quận đống đa", HANOI, "quận đống đa"),
        ("số năm quận một", HCM, "quận một"),
        ("thành phố thủ đức", HCM, "thành phố thủ đức"),
        ("huyện hòa vang", DANANG, "huyện hòa vang"),
    ],
)
def test_former_district_is_not_a_ward(spoken, default, district, lexicon_vi, gazetteer) -> None:
    result = parse(spoken, lexicon_vi, gazetteer, default)
    assert result.status == "district"
    assert result.district == district and result.ward is None
    assert result.notes == (f"former district named: {district}",)


def test_ward_named_with_a_district_is_resolved(lexicon_vi, gazetteer) -> None:
    result = parse("phường láng quận đống đa", lexicon_vi, gazetteer, HANOI)
    assert result.status == "resolved" and result.ward.name == "Phường Láng" and result.district is None


def test_ambiguous_ward_lists_candidates(lexicon_vi, gazetteer) -> None:
    result = parse("phường tân an", lexicon_vi, gazetteer, None)
    assert result.status == "ambiguous"
    assert len(result.ambiguous) == 10
    assert {w.short for w in result.ambiguous} == {"Tân An"}
    settled = parse("phường tân an đắk lắk", lexicon_vi, gazetteer, None)
    assert settled.ward.name == "Phường Tân An" and settled.province.name == "Đắk Lắk"


def test_unknown_ward_and_no_ward(lexicon_vi, gazetteer) -> None:
    old = parse("số mười phường mười bốn", lexicon_vi, gazetteer, HCM)
    assert old.status == "unknown_ward" and old.unknown_ward == "phường mười bốn" and old.street == "số 10"
    none = parse("số tám ngõ chợ khâm thiên", lexicon_vi, gazetteer, HANOI)
    assert none.status == "no_ward" and none.street == "số 8 ngõ chợ khâm thiên"
    assert parse("dạ à", lexicon_vi, gazetteer, HANOI).status == "empty"
    only_city = parse("thành phố hồ chí minh", lexicon_vi, gazetteer, HANOI)  # named a province, no ward yet
    assert (only_city.status, only_city.province.name, only_city.province_named) == ("no_ward", HCM, True)


def test_english_address_stays_text(lexicon_en, gazetteer) -> None:
    result = parse("number one hundred and five tran hung dao street hoan kiem", lexicon_en, gazetteer, HANOI)
    assert result.street == "number 105 tran hung dao street hoan kiem"
    assert result.ward.name == "Phường Hoàn Kiếm"  # "hung dao" before "street" is the street, not Xã Hưng Đạo
    plain = parse("forty two baker street", lexicon_en, gazetteer, HANOI)
    assert (plain.status, plain.street, plain.ward) == ("no_ward", "42 baker street", None)
    city = parse("ten nguyen hue street ben thanh ward ho chi minh city", lexicon_en, gazetteer, HANOI)
    assert (city.ward.name, city.province.name) == ("Phường Bến Thành", HCM)
