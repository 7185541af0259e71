/* 常见问题 on the portal's submit form: while the citizen types 具体内容 (4 characters or more, after a pause),
   up to 5 published entries that may already answer it appear under the field, each a plain link (Tab
   reaches it) to its page on /portal/faq. Only asks the public, rate-limited suggest JSON; any failure
   (a 429, the network) just hides the box, the form works without it. */
(function () {
  "use strict";
  var box = document.getElementById("faq-suggest");
  var content = document.getElementById("content");
  if (!box || !content || !window.fetch) { return; }
  var list = document.getElementById("faq-suggest-items"), status = document.getElementById("faq-suggest-status");
  var subject = document.getElementById("subject");
  var MIN_CHARS = 4, MAX_ITEMS = 5, PAUSE_MS = 400, MAX_ASKED = 300;  // a short URL is enough to rank by
  var timer = null, last = "";

  function hide() {
    box.hidden = true;
    list.textContent = "";
  }
  function show(items) {
    list.textContent = "";
    items.slice(0, MAX_ITEMS).forEach(function (item) {
      var li = document.createElement("li"), link = document.createElement("a");
      link.href = box.getAttribute("data-faq") + "/" + String(item.id);
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = item.title;
      link.setAttribute("aria-label", item.title + "(在新窗口打开,已填写的内容不会丢失)");
      li.setAttribute("data-entry", String(item.id));
      li.appendChild(link);
      if (item.unit) {
        var unit = document.createElement("small");
        unit.textContent = " " + item.unit;
        li.appendChild(unit);
      }
      list.appendChild(li);
    });
    box.hidden = items.length === 0;
    status.textContent = items.length ? "找到 " + Math.min(items.length, MAX_ITEMS) + " 条相关常见问题" : "";
  }
  function ask() {
    var typed = content.value.trim();
    var text = (((subject && subject.value.trim()) || "") + " " + typed).trim().slice(0, MAX_ASKED);
    if (typed.length < MIN_CHARS) { last = ""; hide(); status.textContent = ""; return; }
    if (text === last) { return; }
    last = text;
    fetch(box.getAttribute("data-url") + "?content=" + encodeURIComponent(text),
          {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {items: []}; })
      .then(function (data) { if (text === last) { show((data && data.items) || []); } })
      .catch(hide);
  }
  function later() { window.clearTimeout(timer); timer = window.setTimeout(ask, PAUSE_MS); }
  content.addEventListener("input", later);
  if (subject) { subject.addEventListener("input", later); }
  if (content.value.trim()) { ask(); }
})();
