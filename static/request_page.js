// The request page's keyboard shortcuts; every decision also works without them (plain forms).
// An element carries its key in data-shortcut: a link or button is clicked, a field focused
// (its folded section opened first). "?" shows the list of shortcuts in a <dialog>, which
// closes on Escape. Nothing fires while typing in a field (Escape leaves it) or with a
// modifier key held.
(function () {
  "use strict";
  var help = document.getElementById("shortcuts-help");
  var opener = document.getElementById("shortcuts-open");
  var cancel = document.getElementById("cancel");
  if (!help) { return; }
  if (cancel && window.location.hash === "#cancel") { cancel.open = true; }

  function showHelp() {
    if (help.open) { return; }
    if (help.showModal) { help.showModal(); } else { help.setAttribute("open", ""); }
    help.querySelector("button").focus();
  }
  if (opener) {
    opener.hidden = false;
    opener.addEventListener("click", showHelp);
  }

  function typing(target) {
    var tag = target.tagName;
    return target.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }
  function act(element) {
    if (element.tagName === "TEXTAREA" || element.tagName === "INPUT") {
      var folded = element.closest("details");
      if (folded) { folded.open = true; }
      element.focus();
      element.scrollIntoView({ block: "center" });
    } else {
      element.click();
    }
  }
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (help.open) { return; }
    if (typing(event.target)) {
      // Escape leaves the field, so the shortcuts work again.
      if (event.key === "Escape" && event.target.tagName !== "SELECT") { event.target.blur(); }
      return;
    }
    if (event.key === "?") {
      event.preventDefault();
      showHelp();
      return;
    }
    if (event.key.length !== 1 || "jkahcr".indexOf(event.key) < 0) { return; }
    var element = document.querySelector('[data-shortcut="' + event.key + '"]');
    if (!element) { return; }
    event.preventDefault();
    act(element);
  });
}());
