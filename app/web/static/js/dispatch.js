/* Highlight the time limits of the chosen 办理方式 before the dispatcher confirms. */
(function () {
  "use strict";
  var table = document.getElementById("previews");
  if (!table) { return; }
  function mark() {
    var chosen = document.querySelector('input[name="dispatch_mode"]:checked');
    table.querySelectorAll("tr[data-mode]").forEach(function (row) {
      row.classList.toggle("chosen", !!chosen && row.getAttribute("data-mode") === chosen.value);
    });
  }
  document.querySelectorAll('input[name="dispatch_mode"]').forEach(function (r) { r.addEventListener("change", mark); });
  mark();
})();
