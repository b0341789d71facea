// The bulk confirmation shows only the fields the chosen action needs: the reason to cancel,
// the stage to move to. Without JavaScript the page shows the chosen action's fields already.
(function () {
  "use strict";
  var action = document.getElementById("bulk-action");
  if (!action) {
    return;
  }
  function showFieldsOf(chosen) {
    document.querySelectorAll("[data-for-action]").forEach(function (group) {
      group.hidden = Boolean(chosen) && group.getAttribute("data-for-action") !== chosen;
    });
  }
  action.addEventListener("change", function () {
    showFieldsOf(action.value);
  });
  showFieldsOf(action.value);
})();
