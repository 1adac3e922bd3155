/* Dated lists (timeline, "What's next") judged by the reader's own date, not
   frozen at the build date. The page carries its events as JSON in a
   <script type="application/json" class="citydiplo-events-data"> block, in
   the same order as the items of its lists with class "citydiplo-events".
   Without JavaScript the lists stay as built (they say when). */
(function () {
  "use strict";
  function localToday() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }
  function run() {
    var block = document.querySelector("script.citydiplo-events-data");
    if (!block) { return; }
    var events;
    try { events = JSON.parse(block.textContent); } catch (e) { return; }
    var items = document.querySelectorAll("ul.citydiplo-events > li");
    if (!Array.isArray(events) || items.length !== events.length) { return; }
    var today = localToday();
    var upcomingPage = block.id === "citydiplo-upcoming-data";
    var hidden = 0;
    var marked = false;
    for (var i = 0; i < items.length; i++) {
      var ahead = events[i].last >= today;
      var item = items[i];
      if (upcomingPage) {
        if (!ahead) { item.hidden = true; hidden += 1; }
        continue;
      }
      if (ahead) {
        item.classList.add("citydiplo-ahead");
        var badge = document.createElement("span");
        badge.className = "citydiplo-badge";
        badge.textContent = block.dataset.aheadLabel || "ahead";
        item.appendChild(document.createTextNode(" "));
        item.appendChild(badge);
      } else if (!marked) {
        /* newest first: today falls just before the first item that has passed */
        var marker = document.createElement("li");
        marker.className = "citydiplo-today";
        marker.setAttribute("aria-label", (block.dataset.todayLabel || "Today") + " " + today);
        marker.textContent = (block.dataset.todayLabel || "Today") + ": " + today;
        item.parentNode.insertBefore(marker, item);
        marked = true;
      }
    }
    if (upcomingPage && hidden > 0) {
      var note = document.createElement("p");
      note.className = "citydiplo-passed-note";
      note.textContent = block.dataset.passedLabel || "";
      items[0].parentNode.parentNode.insertBefore(note, items[0].parentNode);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
