/* Chinese messages for the browser's own form checks, and no double submit. No inline script: CSP. */
(function () {
  "use strict";
  function titleOf(el) {
    return el.getAttribute("data-title") || (el.labels && el.labels[0] ? el.labels[0].textContent.replace("*", "").trim() : "此项");
  }
  function message(el) {
    var v = el.validity, t = "「" + titleOf(el) + "」";
    if (v.valueMissing) { return (el.type === "radio" || el.tagName === "SELECT") ? "请选择" + t : "请填写" + t; }
    if (v.tooLong) { return t + "最多 " + el.maxLength + " 个字符"; }
    if (v.rangeUnderflow) { return t + "不能小于 " + el.min; }
    if (v.rangeOverflow) { return t + "不能大于 " + el.max; }
    if (v.badInput || v.stepMismatch) { return t + "应为整数"; }
    if (v.typeMismatch || v.patternMismatch) { return t + "格式不正确"; }
    return "";
  }
  document.querySelectorAll("form.js-validate").forEach(function (form) {
    form.addEventListener("invalid", function (e) {
      var el = e.target;
      el.setCustomValidity("");
      if (!el.validity.valid) { el.setCustomValidity(message(el)); }
    }, true);
    ["input", "change"].forEach(function (name) {
      form.addEventListener(name, function (e) {
        if (e.target.setCustomValidity) {
          e.target.setCustomValidity("");
          if (e.target.type === "radio") {
            form.querySelectorAll('input[name="' + e.target.name + '"]').forEach(function (r) { r.setCustomValidity(""); });
          }
        }
      });
    });
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; b.textContent = "正在提交……"; }, 0);
      });
    });
  });
})();
