"""知识库 at the agent's desk in headless Chromium, on SQLite and PostgreSQL: agent01 types the caller's question
on /intake, the suggested entry appears beside the form, the agent reaches 「用此答复」 with the keyboard, and the
case closes through 直接答复 with the reply SMS (log gateway) — no 受理, no 派单; the case page links the entry,
whose page counts the use. The public 常见问题 page
answers the same question without signing in. An editor bolds a word with the answer's toolbar and the saved entry
shows it bold."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.models import Case, HumanTask, KnowledgeEntry, KnowledgeUse, SmsMessage
from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e


def test_an_agent_answers_a_caller_from_the_knowledge_base_and_the_case_closes(desk: Any, served: Any,
                                                                               chromium: Any) -> None:
    agent = desk("agent01")
    page = agent.go("/intake")
    page.select_option("#channel", "phone")
    page.fill("#name", "周八")
    page.fill("#phone", "13700137000")
    page.fill("#subject", "咨询居住证")
    page.locator("#content").press_sequentially("外地户口怎么办居住证")
    first = page.locator("#knowledge-items li").first
    first.wait_for()
    assert "居住证办理材料和流程" in first.inner_text()
    agent.shot("knowledge-01-suggested")

    page.locator("#content").focus()
    page.keyboard.press("Tab")  # the first suggestion's 「用此答复」 comes next in the tab order
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "用此答复:居住证办理材料和流程"
    page.keyboard.press("Enter")
    assert "居住证" in page.input_value("#direct_reply")
    assert page.input_value("#kind") == "consultation"  # a complaint cannot be answered at intake
    agent.shot("knowledge-02-used")
    with page.expect_navigation():
        page.get_by_role("button", name="保存登记").click()
    number = page.locator("#case-number").inner_text()

    with served.platform.db.reading() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        entry = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.title == "居住证办理材料和流程")).one()
        assert case.status == "closed"
        assert session.get(KnowledgeUse, case.id).entry_id == entry.id
        assert session.scalar(select(func.count()).select_from(HumanTask).where(HumanTask.case_id == case.id)) == 0
        sent = list(session.scalars(select(SmsMessage.template).where(SmsMessage.case_id == case.id)
                                    .order_by(SmsMessage.id)))
    assert sent == ["receipt", "reply"]

    page = agent.go(f"/cases/{case.id}")  # the case tells which entry answered it; its page counts the use
    page.locator("#knowledge-answer a").click()
    page.wait_for_url(f"**/knowledge/{entry.id}")
    assert page.inner_text("#use-count") == "1"
    assert agent.errors == []

    citizen = chromium.new_context(locale="zh-CN")
    public = citizen.new_page()
    public.goto(f"{served.url}/portal/faq?q=暫住證怎麼辦")
    assert "居住证办理材料和流程" in public.inner_text("#faq-items")
    citizen.close()


def test_the_portal_submit_form_suggests_the_entry_at_a_phones_size(served: Any, chromium: Any) -> None:
    """A citizen on a 375×667 phone types the question into 具体内容: the 居住证 entry appears under the field,
    Tab reaches its link, and nothing is wider than the screen."""
    context = chromium.new_context(viewport={"width": 375, "height": 667}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{served.url}/portal")
    assert page.locator("#faq-suggest").is_hidden()
    page.locator("#content").press_sequentially("外地户口怎么办居住证")
    first = page.locator("#faq-suggest-items li a").first
    first.wait_for()
    assert first.inner_text() == "居住证办理材料和流程"
    assert page.locator("#faq-suggest-items li").count() <= 5
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#faq-suggest").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"{served.name}-portal-phone-faq-suggest.png"))
    page.locator("#content").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "居住证办理材料和流程"
    page.locator("#content").fill("外地")  # fewer than 4 characters: the box goes away
    page.locator("#faq-suggest").wait_for(state="hidden")
    context.close()
    assert errors == []


def test_an_editor_bolds_a_word_with_the_toolbar_and_the_entry_shows_it_bold(desk: Any) -> None:
    """zj01 writes an entry: selects 身份证 in 答复口径 and presses 加粗, reached with Tab; Ctrl+B bolds 缴费凭证;
    the preview below shows both bold as the server will keep them; saved, the entry page shows them bold."""
    editor = desk("zj01")
    page = editor.go("/knowledge/new")
    page.fill("#title", "供暖报修要带什么")
    page.fill("#answer", "请携带身份证和供暖缴费凭证到热力公司营业厅办理。")

    def select(word: str) -> None:
        page.evaluate("w => { const a = document.getElementById('answer'), i = a.value.indexOf(w);"
                      " a.setSelectionRange(i, i + w.length); }", word)

    select("身份证")
    page.locator("#questions").focus()
    page.keyboard.press("Tab")  # the toolbar sits between 常见问法 and 答复口径
    assert page.evaluate("document.activeElement.textContent") == "加粗"
    assert page.evaluate("document.activeElement.title") == "加粗(Ctrl+B):把选中的文字加粗"
    page.keyboard.press("Enter")
    assert page.input_value("#answer") == "请携带<b>身份证</b>和供暖缴费凭证到热力公司营业厅办理。"
    page.locator("#answer").focus()
    select("缴费凭证")
    page.keyboard.press("Control+b")
    assert "<b>缴费凭证</b>" in page.input_value("#answer")
    page.locator("#answer-preview b", has_text="缴费凭证").wait_for()
    assert page.locator("#answer-preview b").all_inner_texts() == ["身份证", "缴费凭证"]
    editor.shot("knowledge-editor-01-bold")

    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    assert page.locator("#answer b").all_inner_texts() == ["身份证", "缴费凭证"]
    assert "<b>" not in page.inner_text("#answer-plain")  # read aloud as plain text
    editor.shot("knowledge-editor-02-entry")
    assert editor.errors == []
