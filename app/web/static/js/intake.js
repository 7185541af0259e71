/* Duplicate hint (判重): on leaving the phone, ID, place, subject or content field, list earlier cases of the
   same requester or about the same matter, ranked, with their reasons, each with a button that saves this
   registration as its 重复件. */
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) { return; }
  var hint = document.getElementById("duplicate-hint");
  var phone = document.getElementById("phone"), idNumber = document.getElementById("id_number");
  var matter = ["subject", "content", "location", "category"].map(function (id) { return document.getElementById(id); })
    .filter(function (node) { return node; });
  var last = "";
  var anonymous = document.getElementById("anonymous"), name = document.getElementById("name");
  function anonymity() {  /* an anonymous requester gives no name: the browser must not ask for one */
    if (!anonymous || !name) { return; }
    name.required = !anonymous.checked;
    name.disabled = anonymous.checked;
  }
  if (anonymous) { anonymous.addEventListener("change", anonymity); anonymity(); }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }
  function show(data) {
    hint.textContent = "";
    if (!data.items || data.items.length === 0) { hint.hidden = true; return; }
    hint.appendChild(el("h2", (data.is_duplicate ? "很可能是重复件" : "疑似重复") + "：近 " + data.days +
      " 天内有 " + data.items.length + " 件相关诉求"));
    var table = el("table"), head = el("tr");
    ["受理号", "标题", "理由", "状态", "灯", "登记时间", ""].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(head);
    data.items.forEach(function (c) {
      var tr = el("tr");
      var link = el("a", c.number, "number");
      link.href = form.getAttribute("data-case-url").replace(/0$/, String(c.id));
      link.target = "_blank";
      var first = el("td"); first.appendChild(link); tr.appendChild(first);
      tr.appendChild(el("td", c.subject));
      tr.appendChild(el("td", (c.reasons || []).join("；")));
      tr.appendChild(el("td", c.status_label));
      var lightCell = el("td");
      lightCell.appendChild(el("span", c.light_label, c.light ? "light light-" + c.light : "muted"));
      tr.appendChild(lightCell);
      tr.appendChild(el("td", c.created));
      var action = el("td"), button = el("button", "关联为重复件", "secondary small");
      button.type = "button";
      button.setAttribute("data-case", String(c.id));
      button.addEventListener("click", function () {
        document.getElementById("duplicate_of").value = String(c.id);
        if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      });
      action.appendChild(button); tr.appendChild(action);
      table.appendChild(tr);
    });
    hint.appendChild(table);
    hint.hidden = false;
  }
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var field = form.querySelector('input[name="csrf_token"]');
    return meta ? meta.getAttribute("content") : (field ? field.value : "");
  }
  // POSTed as JSON, never in the URL: phone and ID numbers must not land in access logs.
  function check() {
    var typed = {phone: phone.value.trim(), id_number: idNumber.value.trim()};
    matter.forEach(function (node) { typed[node.id] = node.value.trim(); });
    var body = JSON.stringify(typed);
    if (body === last || (!typed.phone && !typed.id_number && !typed.content && !typed.location)) { return; }
    last = body;
    fetch(form.getAttribute("data-duplicates"), {
      method: "POST", credentials: "same-origin", body: body,
      headers: {"Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken()}
    })
      .then(function (r) { return r.ok ? r.json() : {items: []}; })
      .then(show)
      .catch(function () { hint.hidden = true; });
  }
  phone.addEventListener("blur", check);
  idNumber.addEventListener("blur", check);
  matter.forEach(function (node) { node.addEventListener(node.tagName === "SELECT" ? "change" : "blur", check); });
  if (phone.value.trim()) { check(); }  // prefilled from an answered call
})();
