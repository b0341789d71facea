// Flask-Admin's controls without inline event handlers, which the Content-Security-Policy
// does not run: our templates/admin/ overrides mark them with data attributes instead.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    // Flask-Admin's inert links (the current tab, a disabled pager button) point at
    // javascript:void(0), which the policy refuses to run: never follow them.
    var inert = event.target.closest('a[href^="javascript:"]');
    if (inert) { event.preventDefault(); }
    var target = event.target.closest("[data-model-action], [data-inline-add], [data-stay], [data-confirm]");
    if (!target) { return; }
    if (target.hasAttribute("data-confirm")) {
      if (!window.confirm(target.getAttribute("data-confirm"))) { event.preventDefault(); }
      return;
    }
    event.preventDefault();
    if (target.hasAttribute("data-model-action")) {
      window.modelActions.execute(target.getAttribute("data-model-action"));
    } else if (target.hasAttribute("data-inline-add")) {
      window.faForm.addInlineField(target, target.getAttribute("data-inline-add"));
    }
  });
  // Flask-Admin's select-all and row checkboxes carry only a title, which is no label:
  // give them that title as their accessible name too (axe: label-title-only).
  document.querySelectorAll("input.action-rowtoggle[title], input.action-checkbox[title]").forEach(function (box) {
    if (!box.hasAttribute("aria-label")) { box.setAttribute("aria-label", box.title); }
  });
}());
