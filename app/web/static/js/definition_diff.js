/* Two versions of a definition side by side, coloured by what the server's diff found. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("diff-data").textContent);
  function show(box, xml, marks) {
    if (!window.BpmnJS) { box.textContent = "流程图组件未安装。"; return Promise.resolve(); }
    var viewer = new window.BpmnJS({container: box});
    box.viewer = viewer;  // for a look from the console (and the browser test)
    return viewer.importXML(xml).then(function () {
      var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
      Object.keys(marks).forEach(function (kind) {
        marks[kind].forEach(function (id) {
          var element = registry.get(id);
          if (!element) { return; }
          canvas.addMarker(id, "diff-" + kind);
          // inside a collapsed sub-process: mark it too, so the change shows on the top-level diagram
          var parent = element.parent;
          while (parent) {
            var outer = registry.get(parent.id.replace(/_plane$/, ""));
            if (outer && outer.id !== parent.id && !canvas.hasMarker(outer, "diff-" + kind)) {
              canvas.addMarker(outer, kind === "removed" ? "diff-removed-inside" : "diff-changed");
            }
            parent = parent.parent;
          }
        });
      });
      canvas.zoom("fit-viewport");
    });
  }
  Promise.all([
    show(document.getElementById("diff-old"), data.old, {removed: data.removed, changed: data.changed}),
    show(document.getElementById("diff-new"), data["new"], {added: data.added, changed: data.changed})
  ]).then(function () { document.body.setAttribute("data-diff-ready", "1"); })
    .catch(function () { document.body.setAttribute("data-diff-ready", "error"); });
}());
