/* The case's process diagram (bpmn-js viewer, served from static/vendor) with its current steps marked. */
(function () {
  "use strict";
  var box = document.getElementById("diagram");
  if (!box) { return; }
  function say(text) {
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "muted diagram-message";
    p.textContent = text;
    box.appendChild(p);
  }
  function draw(data) {
    if (!data.has_di) { say("该流程定义（" + data.name + "）没有图形布局信息（BPMNDI），无法显示流程图。"); return; }
    if (!window.BpmnJS) { say("流程图组件未安装，请运行 scripts/serve 安装 bpmn-js。"); return; }
    box.textContent = "";
    var viewer = new window.BpmnJS({container: box});
    viewer.importXML(data.xml).then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      var shown = null;
      data.active.forEach(function (id) {
        var element = registry.get(id);
        if (!element) { return; }
        canvas.addMarker(id, "current");
        var parent = element.parent;
        while (parent) {
          var outer = parent.id.replace(/_plane$/, "");
          if (registry.get(outer) && outer !== parent.id) { canvas.addMarker(outer, "current"); }
          parent = parent.parent;
        }
        if (!shown && canvas.findRoot) { shown = canvas.findRoot(element); }
      });
      if (shown) { canvas.setRootElement(shown); }
      canvas.zoom("fit-viewport");
      var first = data.active.length ? registry.get(data.active[0]) : null;
      if (first && canvas.scrollToElement && canvas.zoom() < 0.75) {
        canvas.zoom(0.8);  // wide processes shrink to unreadable: show the current step at a readable size
        canvas.scrollToElement(first, {top: 120, bottom: 120, left: 200, right: 200});
      }
      box.setAttribute("data-ready", "1");
    }).catch(function () { say("流程图无法显示。"); });
  }
  function load() {
    fetch(box.getAttribute("data-src"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(draw)
      .catch(function () { say("流程图加载失败。"); });
  }
  var script = document.createElement("script");
  script.src = box.getAttribute("data-script");
  script.onload = load;
  script.onerror = function () { say("流程图组件未安装，请运行 scripts/serve 安装 bpmn-js。"); };
  document.body.appendChild(script);
})();
