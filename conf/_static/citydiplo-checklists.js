/* Checklists remembered in the browser. Each task-list item has a tick box
   (its label is the item's text) and a "who" and a "by when" field
   (citydiplo.site.theme.TaskFields). This script keeps what the reader ticks
   and writes in localStorage, under the page's path, one entry per item keyed
   by a hash of the item's text (a second item with the same text gets "-2"),
   and shows the "clear my ticks" button. Without JavaScript, or without
   storage, the list still shows, ticks and prints; nothing is remembered. */
(function () {
  "use strict";
  var PREFIX = "citydiplo-checklist:";

  function hash(text) {
    /* FNV-1a, 32 bits: short and stable */
    var h = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(36);
  }

  function openStorage() {
    try {
      var store = window.localStorage;
      var probe = PREFIX + "probe";
      store.setItem(probe, "1");
      store.removeItem(probe);
      return store;
    } catch (e) {
      return null;
    }
  }

  function run() {
    var items = document.querySelectorAll("li.task-list-item");
    if (!items.length) { return; }
    var store = openStorage();
    var storeKey = PREFIX + window.location.pathname;
    var saved = {};
    if (store) {
      try { saved = JSON.parse(store.getItem(storeKey) || "{}") || {}; } catch (e) { saved = {}; }
      if (typeof saved !== "object" || Array.isArray(saved)) { saved = {}; }
    }
    var tasks = [];
    var seen = {};
    var status = document.querySelector(".cd-checklist-status");

    function markFilled(input) {
      input.classList.toggle("cd-filled", input.value !== "");
    }

    function save() {
      if (!store) { return; }
      var data = {};
      var any = false;
      tasks.forEach(function (task) {
        var entry = {};
        if (task.box.checked) { entry.done = true; }
        if (task.who && task.who.value) { entry.who = task.who.value; }
        if (task.when && task.when.value) { entry.when = task.when.value; }
        if (Object.keys(entry).length) { data[task.key] = entry; any = true; }
      });
      try {
        if (any) { store.setItem(storeKey, JSON.stringify(data)); } else { store.removeItem(storeKey); }
      } catch (e) { /* storage full or blocked: the page still works */ }
      if (status) { status.textContent = ""; }
    }

    Array.prototype.forEach.call(items, function (item) {
      var box = item.querySelector(":scope > p input.task-list-item-checkbox");
      if (!box) { return; }
      var label = box.closest("label") || box.parentNode;
      var key = hash(label.textContent.replace(/\s+/g, " ").trim());
      seen[key] = (seen[key] || 0) + 1;
      if (seen[key] > 1) { key += "-" + seen[key]; }
      var fields = item.querySelector(":scope > .cd-task-fields");
      var task = {
        key: key,
        box: box,
        who: fields && fields.querySelector('input[data-cd-field="who"]'),
        when: fields && fields.querySelector('input[data-cd-field="when"]')
      };
      tasks.push(task);
      box.disabled = false;
      var entry = saved[key];
      if (entry && typeof entry === "object") {
        box.checked = entry.done === true;
        if (task.who && typeof entry.who === "string") { task.who.value = entry.who; }
        if (task.when && typeof entry.when === "string") { task.when.value = entry.when; }
      }
      item.classList.toggle("cd-done", box.checked);
      box.addEventListener("change", function () {
        item.classList.toggle("cd-done", box.checked);
        save();
      });
      [task.who, task.when].forEach(function (input) {
        if (!input) { return; }
        markFilled(input);
        input.addEventListener("input", function () { markFilled(input); save(); });
        input.addEventListener("change", function () { markFilled(input); save(); });
      });
    });

    var tools = document.querySelector(".cd-checklist-tools");
    if (!tools || !store || !tasks.length) { return; }
    var clear = tools.querySelector(".cd-checklist-clear");
    clear.addEventListener("click", function () {
      tasks.forEach(function (task) {
        task.box.checked = false;
        task.box.closest("li").classList.remove("cd-done");
        [task.who, task.when].forEach(function (input) {
          if (input) { input.value = ""; markFilled(input); }
        });
      });
      save();
      if (status) { status.textContent = status.dataset.cleared || ""; }
    });
    tools.hidden = false;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
