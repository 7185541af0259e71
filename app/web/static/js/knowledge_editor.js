/* 答复口径 in the entry editor: a small toolbar over the textarea (加粗, 列表, 编号, 链接, 段落; Ctrl+B bolds)
   that wraps the selection in the tags the server keeps, and a live preview of the answer as the server will
   save it — the preview asks the server, whose nh3 sanitising stays the one judge. Without JavaScript the
   toolbar stays hidden and the same markup is typed by hand. */
(function () {
  "use strict";
  var area = document.getElementById("answer"), bar = document.getElementById("answer-toolbar");
  if (!area || !bar) { return; }
  var preview = document.getElementById("answer-preview"), box = document.getElementById("answer-preview-box");
  var status = document.getElementById("answer-toolbar-status");
  var SAFE_LINK = /^(https?:\/\/\S+|mailto:\S+|tel:[0-9+\-]+)$/i;
  var timer = null;

  function attr(text) { return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;"); }
  function items(text) {
    var lines = text.split(/\r?\n/).map(function (l) { return l.trim(); }).filter(Boolean);
    return (lines.length ? lines : [""]).map(function (l) { return "  <li>" + l + "</li>"; }).join("\n");
  }
  function link(text) {
    var href = window.prompt("链接地址(以 https://、http://、mailto: 或 tel: 开头)", "https://");
    if (href === null) { return null; }
    href = href.trim();
    if (!SAFE_LINK.test(href)) {
      status.textContent = "链接地址应以 https://、http://、mailto: 或 tel: 开头,未添加链接。";
      return null;
    }
    return '<a href="' + attr(href) + '">' + (text || href) + "</a>";
  }
  function wrapped(kind, text) {
    if (kind === "b") { return "<b>" + text + "</b>"; }
    if (kind === "p") { return "<p>" + text + "</p>"; }
    if (kind === "ul" || kind === "ol") { return "<" + kind + ">\n" + items(text) + "\n</" + kind + ">"; }
    return link(text);
  }
  function apply(kind) {
    var start = area.selectionStart, end = area.selectionEnd;
    status.textContent = "";
    var out = wrapped(kind, area.value.slice(start, end));
    area.focus();
    if (out === null) { return; }
    area.setRangeText(out, start, end, "select");
    area.dispatchEvent(new Event("input", {bubbles: true}));
  }
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function refresh() {
    fetch(area.getAttribute("data-preview-url"), {method: "POST", credentials: "same-origin",
      body: JSON.stringify({answer: area.value}),
      headers: {"Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken()}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (data.html) { preview.innerHTML = data.html; } else { preview.textContent = data.text; }
        preview.classList.toggle("rich", !!data.html);
        box.hidden = !data.text;
      })
      .catch(function () { box.hidden = true; });
  }

  bar.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-format]");
    if (button) { apply(button.getAttribute("data-format")); }
  });
  area.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey && event.key.toLowerCase() === "b") {
      event.preventDefault();
      apply("b");
    }
  });
  area.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 300);
  });
  bar.hidden = false;
  if (area.value.trim()) { refresh(); }
})();
