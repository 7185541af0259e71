// Screen pop: polls /calls/pop for calls this agent answered and shows each with a link to the
// intake form. Short polling keeps it to plain HTTP behind any proxy. Built with textContent only:
// nothing from the server is ever parsed as HTML. Works on any page: without a #screen-pop box it adds
// one at the top of <main>, polling /calls/pop with the page's csrf-token meta. Loaded twice, it runs once.
(function () {
  "use strict";
  if (window.huiyinScreenPop) { return; }
  window.huiyinScreenPop = true;
  var box = document.getElementById("screen-pop");
  var main = document.getElementById("main");
  if (!box && main) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    box = document.createElement("div");
    box.id = "screen-pop";
    box.className = "screen-pop";
    box.setAttribute("aria-live", "polite");
    box.dataset.url = "/calls/pop";
    box.dataset.csrf = meta ? meta.getAttribute("content") : "";
    main.insertBefore(box, main.firstChild);
  }
  if (!box) { return; }
  var INTERVAL_MS = 4000;
  var current = document.getElementById("call_id");  // the call the intake form is registering now

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function dismiss(item, card) {
    fetch("/calls/" + item.call_id + "/taken", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": box.dataset.csrf, "Accept": "application/json" }
    }).then(function (r) { if (r.ok) { card.remove(); } });
  }

  function render(items) {
    box.replaceChildren();
    items.forEach(function (item) {
      if (current && current.value === String(item.call_id)) { return; }
      var card = el("div", null, "card notice");
      card.appendChild(el("strong", "来电弹屏:" + (item.caller_number || "未知号码")));
      var where = [item.caller_location, item.queue ? "队列 " + item.queue : null].filter(Boolean).join(" · ");
      if (where) { card.appendChild(el("span", " " + where)); }
      if (item.earlier_cases.length) {
        card.appendChild(el("p", "该号码近期诉求件:"));
        var list = el("ul");
        item.earlier_cases.forEach(function (c) {
          list.appendChild(el("li", c.number + " " + c.subject + "(" + c.status_label + ")"));
        });
        card.appendChild(list);
      } else {
        card.appendChild(el("p", "该号码近期无诉求件。"));
      }
      var link = el("a", "登记诉求件", "button");
      link.href = item.intake_url;
      card.appendChild(link);
      var close = el("button", "稍后处理", "link");
      close.type = "button";
      close.addEventListener("click", function () { dismiss(item, card); });
      card.appendChild(document.createTextNode(" "));
      card.appendChild(close);
      box.appendChild(card);
    });
  }

  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        return r.ok && json ? r.json() : null;
      })
      .then(function (data) { if (data) { render(data.items); } })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { setTimeout(poll, INTERVAL_MS); });
  }
  poll();
}());
