/* 知识库推荐 on the intake page: while the agent types the caller's question, the best published entries
   appear beside the form. 「用此答复」 fills 直接答复 with the entry's answer and records the entry (hidden
   field knowledge_entry), switching the 诉求类型 to 咨询 if it was one that cannot be answered at intake;
   「答复不准确」 sends the agent's note to the owning unit. Every control is a button: Tab reaches it. */
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form || !form.getAttribute("data-knowledge")) { return; }
  var panel = document.getElementById("knowledge-suggest"), list = document.getElementById("knowledge-items");
  var status = document.getElementById("knowledge-status");
  var subject = document.getElementById("subject"), content = document.getElementById("content");
  var category = document.getElementById("category"), kind = document.getElementById("kind");
  var reply = document.getElementById("direct_reply"), chosen = document.getElementById("knowledge_entry");
  var used = document.getElementById("knowledge-used"), usedId = document.getElementById("knowledge-used-id");
  var DIRECT_KINDS = ["consultation", "suggestion", "praise"];
  var timer = null, last = "";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin", body: JSON.stringify(body),
      headers: {"Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken()}});
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function useEntry(item) {
    reply.value = item.answer;
    chosen.value = String(item.id);
    usedId.textContent = String(item.id) + " " + item.title;
    used.hidden = false;
    if (kind && DIRECT_KINDS.indexOf(kind.value) < 0) { kind.value = "consultation"; }
    if (subject && !subject.value.trim()) { subject.value = item.title; }
    status.textContent = "已填入「" + item.title + "」的答复口径,保存登记即直接答复办结。";
    reply.focus();
  }
  function feedback(item) {
    var note = window.prompt("答复不准确:请写明哪里不准确(将发送给" + item.unit + ")", "");
    if (!note || !note.trim()) { return; }
    var url = form.getAttribute("data-knowledge-entry-url").replace(/0$/, String(item.id)) + "/feedback";
    post(url, {note: note.trim()}).then(function (r) {
      status.textContent = r.ok ? "已将反馈发送给" + item.unit + "。" : "反馈未能发送,请稍后再试。";
    });
  }
  function show(data) {
    list.textContent = "";
    var items = (data && data.items) || [];
    panel.hidden = items.length === 0;
    items.forEach(function (item) {
      var li = el("li", null, "knowledge-item");
      li.setAttribute("data-entry", String(item.id));
      li.appendChild(el("strong", item.title));
      li.appendChild(el("small", " " + item.unit + (item.legal_basis ? " · " + item.legal_basis : ""), "muted"));
      li.appendChild(el("p", item.answer, "answer"));
      var use = el("button", "用此答复", "small");
      use.type = "button";
      use.setAttribute("aria-label", "用此答复:" + item.title);
      use.addEventListener("click", function () { useEntry(item); });
      var wrong = el("button", "答复不准确", "secondary small");
      wrong.type = "button";
      wrong.setAttribute("aria-label", "答复不准确:" + item.title);
      wrong.addEventListener("click", function () { feedback(item); });
      li.appendChild(use);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(wrong);
      list.appendChild(li);
    });
    status.textContent = items.length ? "找到 " + items.length + " 条可能的答复" : "";
  }
  function ask() {
    var text = ((subject && subject.value) || "") + " " + ((content && content.value) || "");
    var body = {content: text.trim(), category: category ? category.value : ""};
    var key = JSON.stringify(body);
    if (key === last) { return; }
    last = key;
    if (!body.content) { show({items: []}); return; }
    post(form.getAttribute("data-knowledge"), body)
      .then(function (r) { return r.ok ? r.json() : {items: []}; })
      .then(show)
      .catch(function () { panel.hidden = true; });
  }
  function later() { window.clearTimeout(timer); timer = window.setTimeout(ask, 300); }
  [subject, content].forEach(function (field) { if (field) { field.addEventListener("input", later); } });
  if (category) { category.addEventListener("change", later); }
  reply.addEventListener("input", function () {
    if (!reply.value.trim()) { chosen.value = ""; used.hidden = true; }
  });
  if ((subject && subject.value.trim()) || (content && content.value.trim())) { ask(); }
})();
