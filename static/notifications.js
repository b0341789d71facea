// Keeps the bell in the staff navbar current: every 5 seconds it asks how many
// notifications are unread and redraws the count and its words for screen readers.
// Without JavaScript the count is the one the page was rendered with.
(function () {
  "use strict";
  var bell = document.getElementById("notification-bell");
  if (!bell || !window.fetch) { return; }
  var badge = bell.querySelector("[data-unread]");
  function redraw(data) {
    badge.textContent = String(data.unread);
    badge.hidden = !data.unread;
    bell.setAttribute("aria-label", data.label);
    bell.setAttribute("title", data.label);
  }
  function poll() {
    if (document.hidden) { return; }
    fetch(bell.dataset.countUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { redraw(data); } })
      .catch(function () {});
  }
  window.setInterval(poll, 5000);
  document.addEventListener("visibilitychange", poll);
}());
