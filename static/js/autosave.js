// Autosave conflicts, the progress count and the meeting timer.
// - "Keep mine" / "keep theirs" (templates/incidents/partials/edit_conflict.html).
// - An autosave of one field answers with that field's line of the progress panel only
//   (templates/incidents/partials/progress_item.html); "N of M fields complete" is
//   recounted from the panel's lines.
// - The meeting timer (<span class="meeting-timer" data-ends="ISO">) ticks every second.
(function () {
  "use strict";
  // Both choices first take the other person's version, so any save from this page now
  // builds on it, and put the chosen values in the inputs. Then the ordinary
  // autosave runs (queued behind any save already in flight).
  // A mouse press on a choice must not blur the input first: the blur's "change" would
  // send one more save based on the stale version and bring the conflict back.
  document.addEventListener("mousedown", function (event) {
    if (event.target.closest("[data-keep]")) { event.preventDefault(); }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-keep]");
    if (!button) { return; }
    var container = document.querySelector(button.dataset.container);
    var values = JSON.parse(button.dataset.values);
    document.getElementById(button.dataset.versionInput).value = button.dataset.version;
    // "keep theirs" carries their values; "keep mine" the merge the server made: my value
    // in each cell I changed, theirs in every other cell of the row.
    var names = Object.keys(values);
    names.forEach(function (name) {
      container.querySelectorAll("[name='" + name + "']").forEach(function (input) {
        if (input.type === "radio") {
          input.checked = input.value === values[name];
        } else {
          input.value = values[name];
        }
      });
    });
    // Save what the inputs now hold: the merge is stored as a new version; theirs is
    // already the newest version, so the server stores nothing and answers with the
    // field's state.
    var input = container.querySelector("[name='" + names[0] + "']:not([type=radio]), "
                                        + "[name='" + names[0] + "']:checked");
    htmx.trigger(input, "change");
  });

  function recountProgress() {
    var count = document.querySelector("#progress [data-progress-count]");
    if (!count) { return; }
    var lines = document.querySelectorAll("#progress ol > li");
    var done = document.querySelectorAll("#progress ol > li.done");
    count.textContent = done.length + " of " + lines.length;
  }
  document.addEventListener("htmx:oobAfterSwap", recountProgress);
  document.addEventListener("htmx:afterSettle", recountProgress);

  function two(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    document.querySelectorAll(".meeting-timer[data-ends]").forEach(function (el) {
      var ms = Date.parse(el.dataset.ends) - Date.now();
      var seconds = Math.floor(Math.abs(ms) / 1000);
      el.textContent = two(Math.floor(seconds / 60)) + ":" + two(seconds % 60)
        + (ms >= 0 ? " left" : " over time");
      el.classList.toggle("over", ms < 0);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 1000);
})();
