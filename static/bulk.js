// The bulk confirmation shows only the fields the chosen action needs: the reason to cancel,
// the stage to move to; before an action is chosen, none. Without JavaScript the page shows
// the chosen action's fields already (and every field while none is chosen).
(function () {
  "use strict";
  var action = document.getElementById("bulk-action");
  if (!action) {
    return;
  }
  function showFieldsOf(chosen) {
    document.querySelectorAll("[data-for-action]").forEach(function (group) {
      var needed = group.getAttribute("data-for-action") === chosen;
      group.hidden = !needed;
      // A hidden field is neither sent nor required; the reason is required to cancel.
      group.querySelectorAll("select, textarea").forEach(function (field) {
        field.disabled = !needed;
        field.required = needed && field.id === "bulk-reason";
      });
    });
  }
  action.addEventListener("change", function () {
    showFieldsOf(action.value);
  });
  showFieldsOf(action.value);
})();
