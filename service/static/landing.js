// YASGUI on the landing page: one tab per canned query, the first one run on load.
(function () {
  "use strict";
  var el = document.getElementById("yasgui");
  if (!el || typeof Yasgui === "undefined") { return; }
  var tabs = JSON.parse(document.getElementById("hmp-tabs").textContent);
  var endpoint = window.location.origin + "/sparql";
  var yasgui = new Yasgui(el, {
    requestConfig: { endpoint: endpoint, method: "GET" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    autofocus: false,
    populateFromUrl: false,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
  });
  var initial = yasgui.getTab();
  var first = null;
  tabs.forEach(function (t) {
    var tab = yasgui.addTab(false, {
      name: t.name,
      yasqe: { value: t.query },
      requestConfig: { endpoint: endpoint, method: "GET" },
    });
    if (first === null) { first = tab; }
  });
  if (first !== null) {
    yasgui.selectTabId(first.getId());
    if (initial && initial !== first) { initial.close(); }
    first.query();
  }
  window.hmpYasgui = yasgui;
})();
