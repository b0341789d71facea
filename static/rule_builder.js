// The notice rule builder: "Add condition" and "Remove" show and hide a condition's row at once
// (without JavaScript they send the form back to do the same), and the dry run beside the form
// follows every change: the page asks the server for it as the "Dry run" button does.
(() => {
  "use strict";
  const builder = document.getElementById("rule-conditions");
  if (!builder) return;
  const form = builder.closest("form");
  const adder = document.getElementById("add_condition");
  const panel = document.getElementById("dry-run-panel");
  let timer = null;
  let asked = 0;

  function firstOpenOption() {
    return Array.from(adder.options).find((option) => !option.disabled);
  }

  function showRow(kind, shown) {
    const row = document.getElementById("row-" + kind);
    const option = adder.querySelector('option[value="' + kind + '"]');
    if (!row || !option) return;
    row.hidden = !shown;
    row.querySelector(".rule-row-switch").checked = shown;
    option.hidden = shown;
    option.disabled = shown;
    const open = firstOpenOption();
    if (adder.selectedOptions.length === 0 || adder.selectedOptions[0].disabled) {
      adder.value = open ? open.value : "";
    }
    if (shown) {
      (row.querySelector("input:not([type=checkbox]), select") || row).focus();
    } else {
      adder.focus();
    }
    refreshSoon();
  }

  async function refresh() {
    const number = ++asked;
    const data = new FormData(form);
    data.set("dry_run", "1");
    const answer = await fetch(form.getAttribute("action") || window.location.href, {
      method: "POST",
      body: data,
      credentials: "same-origin",
    });
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.getElementById("dry-run-panel");
    if (number === asked) {
      panel.innerHTML = fresh ? fresh.innerHTML : "";
    }
  }

  function refreshSoon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  }

  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.name === "builder" && button.value === "add") {
      event.preventDefault();
      if (adder.value) showRow(adder.value, true);
    } else if (button.name === "remove_condition") {
      event.preventDefault();
      showRow(button.value, false);
    }
  });
  form.addEventListener("input", refreshSoon);
  form.addEventListener("change", refreshSoon);
})();
