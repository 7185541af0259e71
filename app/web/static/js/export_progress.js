// The export page's progress bar: polls the job's status every second until it is done or failed.
(function () {
  "use strict";
  var box = document.getElementById("export");
  if (!box) { return; }
  var bar = document.getElementById("export-progress");
  var percent = document.getElementById("export-percent");
  var state = document.getElementById("export-state");
  var link = document.getElementById("export-download");
  function poll() {
    fetch(box.dataset.status, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.value = job.progress;
        percent.textContent = job.progress + "%";
        if (job.state === "done") {
          state.textContent = "已完成。";
          link.hidden = false;
        } else if (job.state === "failed") {
          state.textContent = "导出失败:" + (job.error || "");
        } else {
          state.textContent = "正在后台生成(" + job.rows_done + " / " + job.rows_total + ")…";
          setTimeout(poll, 1000);
        }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  if (link.hidden) { poll(); }
})();
