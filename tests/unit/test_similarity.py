"""判重 rules on their own: one normal form for places and texts, how alike two appeals are, stable LSH keys."""

from __future__ import annotations

from app.domain.similarity import (
    PlaceMatch,
    appeal,
    compare_places,
    fold,
    index_keys,
    judge,
    minhash_bands,
    numerals_to_digits,
    parse_place,
    problem_shingles,
)


def test_chinese_numerals_become_digits_as_written():
    assert numerals_to_digits("三号楼十二层一百二十二号二〇二六年两个") == "3号楼12层122号2026年2个"


def test_full_width_case_and_punctuation_fold_away():
    assert fold("Ｂ口，３号楼！ＫＴＶ") == "b口3号楼ktv"


def test_one_building_written_five_ways_is_one_spot():
    places = [parse_place(text) for text in ("北塘区北塘街道北塘家园5号楼", "北塘家园五号楼", "北塘家园小区5栋",
                                             "北塘家园5幢2单元502", "北塘街道北塘家园５号楼")]
    assert {(p.site, p.spot) for p in places if p} == {("北塘家园", "5")}


def test_an_alias_of_the_estate_is_the_same_place():
    aliased = parse_place("北塘小区5栋", {"北塘小区": "北塘家园"})
    assert aliased is not None and (aliased.site, aliased.spot) == ("北塘家园", "5")


def test_district_and_street_prefixes_are_stripped_but_not_an_estate_named_like_one():
    assert parse_place("东城区和平里街道和平里三巷2号院").site == "和平里3巷"  # type: ignore[union-attr]
    assert parse_place("东湖湾小区12号楼顶层").site == "东湖湾"  # type: ignore[union-attr]
    assert parse_place("万科城市花园").site == "万科城市花园"  # type: ignore[union-attr]
    assert parse_place("和平里五区6号楼").site == "和平里5区"  # type: ignore[union-attr]


def test_two_buildings_or_two_shops_on_one_site_are_different_places():
    assert compare_places(parse_place("北塘家园5号楼"), parse_place("北塘家园7号楼")) is PlaceMatch.DIFFERENT
    assert compare_places(parse_place("幸福路88号华联超市"), parse_place("幸福路120号物美超市")) is PlaceMatch.DIFFERENT
    assert compare_places(parse_place("幸福路华联超市"), parse_place("幸福路88号华联超市")) is PlaceMatch.SAME_SITE
    assert compare_places(parse_place("康乐里小区"), parse_place("康乐里小区9号楼")) is PlaceMatch.SAME_SITE
    assert compare_places(parse_place("西外大街星光ktv"), parse_place("西直门外大街星光KTV")) is PlaceMatch.ALIKE
    assert compare_places(None, parse_place("康乐里")) is PlaceMatch.UNKNOWN


def test_the_place_named_in_the_text_is_not_compared_twice():
    place = parse_place("北塘家园5号楼")
    assert not any("北塘" in s for s in problem_shingles("5号楼电梯坏了", "北塘家园5号楼的电梯坏了", place))


def test_band_keys_are_stable_across_runs_and_machines():
    keys = minhash_bands({"电梯", "梯坏", "坏了"}, bands=4, rows=2)
    assert keys == minhash_bands({"坏了", "梯坏", "电梯"}, bands=4, rows=2)
    assert len(keys) == 4 and all(0 <= k < 2**63 for k in keys)
    assert minhash_bands(set(), bands=4, rows=2) == []


def test_a_rephrased_appeal_at_the_same_spot_is_judged_the_same_matter_with_its_reasons():
    first = appeal("5号楼电梯又坏了", "北塘家园5号楼的电梯这个月已经坏了三次，老人上下楼非常困难。",
                   "北塘区北塘街道北塘家园5号楼", "城乡建设/物业管理")
    again = appeal("电梯困人", "今天北塘家园五号楼电梯突然停在8层，我和孩子被困了四十分钟，这部电梯经常出故障。",
                   "北塘家园小区五号楼", "城乡建设/物业管理")
    verdict = judge(again, first, same_requester=False)
    assert verdict.score >= 0.62
    assert verdict.reasons[0] == "同一地点 北塘家园5号楼" and "同一问题 电梯" in verdict.reasons


def test_same_building_other_problem_and_same_problem_other_building_are_other_matters():
    lift = appeal("5号楼电梯又坏了", "北塘家园5号楼的电梯坏了，老人上下楼困难。", "北塘家园5号楼", "城乡建设/物业管理")
    clutter = appeal("楼道堆满杂物", "北塘家园5号楼楼道里堆满纸箱，消防通道被堵。", "北塘家园5号楼",
                     "城乡建设/物业管理")
    other = appeal("7号楼电梯故障", "北塘家园7号楼电梯坏了，停在一楼不动。", "北塘家园7号楼", "城乡建设/物业管理")
    assert judge(clutter, lift, False).score < 0.62
    assert judge(other, lift, False).score < 0.62


def test_index_keys_meet_on_a_problem_at_a_place_written_two_ways():
    a = appeal("工地夜间施工", "晚上施工噪音很大", "建国门外大街18号工地", None)
    b = appeal("晚上施工吵", "半夜打桩吵得睡不着", "建外大街18号工地", None)
    assert index_keys(a) & index_keys(b)
