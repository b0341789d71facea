// Each row's "⋯" menu is a <details> that opens and closes without JavaScript; here Escape
// closes it (the focus goes back to its button), and opening one menu or clicking elsewhere
// closes the others.
(function () {
  "use strict";
  function closeMenus(except) {
    document.querySelectorAll("details.row-menu[open]").forEach(function (menu) {
      if (menu !== except) { menu.open = false; }
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = event.target.closest && event.target.closest("details.row-menu[open]");
    if (!menu) { return; }
    event.preventDefault();
    menu.open = false;
    menu.querySelector("summary").focus();
  });
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (menu.matches && menu.matches("details.row-menu") && menu.open) { closeMenus(menu); }
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest("details.row-menu")) { closeMenus(null); }
  });
}());

// Keeps an open Requests list current: every 5 seconds it asks which listed rows
// colleagues changed (status, "held by", notices...) and redraws those cells and the
// row's actions (what the user may do now) in place.
(function () {
  "use strict";
  var list = document.getElementById("requests-list");
  if (!list) { return; }
  var since = list.dataset.since;
  function rowIds() {
    return Array.prototype.map.call(list.querySelectorAll("input.action-checkbox"), function (box) { return box.value; });
  }
  function redraw(id, cells) {
    var box = list.querySelector('input.action-checkbox[value="' + id + '"]');
    if (!box) { return; }
    var row = box.closest("tr");
    Object.keys(cells).forEach(function (name) {
      var cell = row.querySelector(name === "actions" ? "td.list-buttons-column" : "td.col-" + name.replace(".", "-"));
      if (cell && cell.innerHTML.trim() !== cells[name].trim()) {
        cell.innerHTML = cells[name];
        row.classList.add("table-info");
      }
    });
  }
  function poll() {
    var ids = rowIds();
    if (!ids.length) { return; }
    var url = list.dataset.changesUrl + "?ids=" + ids.join(",") + "&since=" + encodeURIComponent(since) +
      "&list=" + encodeURIComponent(window.location.search.slice(1));
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        since = data.since;
        Object.keys(data.rows).forEach(function (id) { redraw(id, data.rows[id]); });
      })
      .catch(function () {});
  }
  window.setInterval(poll, 5000);
}());
