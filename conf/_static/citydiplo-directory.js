/* Directory pages (actors, forums, meetings, documents …): filter the table
   by the graph's facets (region, country, network, forum, year) without a
   server. The page carries each row's facet values as JSON in a
   <script type="application/json" class="citydiplo-directory-data"> block,
   in the order of the rows of the table with class "citydiplo-directory".
   Without JavaScript the table is the complete list. */
(function () {
  "use strict";
  function run() {
    var block = document.querySelector("script.citydiplo-directory-data");
    var table = document.querySelector("table.citydiplo-directory");
    if (!block || !table) { return; }
    var data;
    try { data = JSON.parse(block.textContent); } catch (e) { return; }
    var rows = table.querySelectorAll("tbody > tr");
    if (!data || !Array.isArray(data.rows) || rows.length !== data.rows.length) { return; }
    var form = document.createElement("form");
    form.className = "citydiplo-filters";
    form.setAttribute("role", "search");
    var selects = [];
    Object.keys(data.facets).forEach(function (key) {
      var values = {};
      data.rows.forEach(function (row) { (row[key] || []).forEach(function (v) { values[v] = true; }); });
      var names = Object.keys(values).sort(function (a, b) { return a.localeCompare(b); });
      if (names.length < 2) { return; }
      var id = "citydiplo-filter-" + key;
      var label = document.createElement("label");
      label.setAttribute("for", id);
      label.textContent = data.facets[key];
      var select = document.createElement("select");
      select.id = id;
      select.name = key;
      var all = document.createElement("option");
      all.value = "";
      all.textContent = block.dataset.allLabel || "all";
      select.appendChild(all);
      names.forEach(function (name) {
        var option = document.createElement("option");
        option.value = name;
        option.textContent = name;
        select.appendChild(option);
      });
      var wrap = document.createElement("span");
      wrap.className = "citydiplo-filter";
      wrap.appendChild(label);
      wrap.appendChild(select);
      form.appendChild(wrap);
      selects.push(select);
    });
    if (!selects.length) { return; }
    var status = document.createElement("p");
    status.className = "citydiplo-filter-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    function apply() {
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var ok = selects.every(function (s) {
          return !s.value || (data.rows[i][s.name] || []).indexOf(s.value) >= 0;
        });
        rows[i].hidden = !ok;
        if (ok) { shown += 1; }
      }
      status.textContent = shown + " / " + rows.length + " " + (block.dataset.shownLabel || "shown");
      var params = new URLSearchParams();
      selects.forEach(function (s) { if (s.value) { params.set(s.name, s.value); } });
      var query = params.toString();
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, "", query ? "?" + query : window.location.pathname);
      }
    }
    var start = new URLSearchParams(window.location.search);
    selects.forEach(function (s) {
      var wanted = start.get(s.name);
      if (wanted) { s.value = wanted; }
      s.addEventListener("change", apply);
    });
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    var container = table.closest(".table-wrapper") || table;
    container.parentNode.insertBefore(form, container);
    container.parentNode.insertBefore(status, container);
    apply();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
