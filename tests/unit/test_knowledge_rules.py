"""The knowledge base's rules without a database: tokens, synonyms, 繁简, ranking, the entry check, the review date."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.domain import knowledge as rules

WORDS = rules.synonym_map(["居住证=暂住证", "社保卡=社会保障卡"])


def test_traditional_characters_and_full_width_text_fold_to_the_same_tokens():
    assert rules.tokens("暫住證怎麼辦", WORDS) == rules.tokens("暂住证怎么办", WORDS)
    assert rules.fold("ＡＢＣ１２３") == "abc123"


def test_a_synonym_is_indexed_as_the_first_word_of_its_group():
    assert "居住证" in rules.tokens("暂住证在哪里办", WORDS)
    assert "社保卡" in rules.tokens("社会保障卡遗失", WORDS)


def test_how_people_ask_is_not_what_they_ask_about():
    found = rules.tokens("请问外地户口怎么办居住证", WORDS)
    assert {"外地", "户口", "居住证"} <= set(found)
    assert not {"请问", "怎么", "怎么办", "么办"} & set(found)


def test_a_lone_character_counts_only_when_nothing_longer_is_there():
    assert rules.tokens("税") == ["税"]
    assert "证" not in rules.tokens("居住证")


def test_ranking_puts_match_first_then_the_drafts_category_and_freshness():
    now = datetime(2026, 11, 25, 9, 0)
    found = [rules.Candidate(1, 2.0, "劳动保障/社保", now, 0), rules.Candidate(2, 2.0, "劳动保障/欠薪", now, 0),
             rules.Candidate(3, 2.0, "劳动保障/欠薪", datetime(2025, 1, 1), 0), rules.Candidate(4, 0.5, None, now, 0)]
    ranked = [i for i, _ in rules.rank(found, category="劳动保障/欠薪", today=now.date(), review_days=180)]
    assert ranked == [2, 3, 1, 4]


def test_an_entry_is_checked_field_by_field_in_chinese():
    with pytest.raises(rules.EntryRefused) as refused:
        rules.check_entry({"title": "", "answer": "", "valid_from": "2026-02-30", "unit_id": "99"},
                          categories=[], units=[1], areas=[])
    assert refused.value.errors == {"title": "请填写标题", "answer": "请填写答复口径",
                                    "unit_id": "所属单位无效:99", "valid_from": "生效日期应为日期,如 2026-01-01"}
    ok = rules.check_entry({"title": " 居住证 ", "answer": "答复", "questions": "问一\n\n问一\n问二", "unit_id": "1",
                            "keywords": "居住证, 暂住证、 居住证"}, categories=[], units=[1], areas=[])
    assert (ok.title, ok.questions, ok.unit_id, ok.keywords) == ("居住证", ["问一", "问二"], 1, "居住证、暂住证")


def test_the_review_date_counts_from_the_last_confirmation():
    created = datetime(2026, 1, 1, 9, 0)
    assert rules.review_due(None, created, date(2026, 6, 30), 180)
    assert not rules.review_due(datetime(2026, 6, 1), created, date(2026, 6, 30), 180)
    assert rules.currently_valid(None, date(2026, 12, 31), date(2026, 11, 25))
    assert not rules.currently_valid(date(2027, 1, 1), None, date(2026, 11, 25))


def test_a_rich_answer_reads_aloud_a_paragraph_a_line_its_list_numbered_and_its_links_spelled_out():
    raw = ('<p>带齐:</p><ul><li>身份证</li><li>照片</li></ul><ol><li><strong>预约</strong></li></ol>'
           '<p>电话<a href="tel:12345">12345</a>,<a href="javascript:alert(1)">点我</a>'
           '<a href="https://x.gov.cn">官网</a></p><iframe src="https://evil"></iframe>')
    plain, html = rules.rich_answer(raw)
    assert plain == "带齐:\n· 身份证\n· 照片\n1. 预约\n电话12345,点我官网(https://x.gov.cn)"
    assert "javascript" not in html and "iframe" not in html and "<strong>预约</strong>" in html
    assert rules.rich_answer("第一行\n第二行 a<b") == ("第一行\n第二行 a<b", "")  # no tag: kept as typed
