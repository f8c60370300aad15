// Autosave conflicts, the progress count and the meeting timer.
// - "Keep mine" / "keep theirs" (templates/incidents/partials/edit_conflict.html).
// - An autosave of one field answers with that field's line of the progress panel only
//   (templates/incidents/partials/progress_item.html); "N of M fields complete" is
//   recounted from the panel's lines.
// - The meeting timer (<span class="meeting-timer" data-ends="ISO">) ticks every second.
// - Nothing typed is lost (docs/rules.md#autosave-keeps-text): a save refused for any
//   reason (the role became viewer, the record became final, 4xx/5xx, the server cannot
//   be reached) swaps nothing away; the text stays in its field and a message beside it
//   says why it was not saved. The next successful save of that field removes it.
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

  var REFUSED_CLASS = "save-refused";

  function anchorOf(elt) {
    // Radios sit in a fieldset: the message goes after the group, not inside one choice.
    return elt.closest("fieldset") || elt;
  }

  function showRefusal(elt, text, link) {
    // Only saves (hx-post) are refused this way; a filter or search (hx-get) is not typing.
    if (!elt || !elt.closest("[hx-post]")) { return; }
    var anchor = anchorOf(elt);
    var note = anchor.nextElementSibling;
    if (!note || !note.classList.contains(REFUSED_CLASS)) {
      note = document.createElement("p");
      note.className = REFUSED_CLASS + " notice notice-bad notice-line";
      note.setAttribute("role", "alert");
      anchor.insertAdjacentElement("afterend", note);
    }
    note.textContent = text;
    if (link) {
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      note.appendChild(document.createTextNode(" "));
      note.appendChild(a);
    }
  }

  function clearRefusal(elt) {
    var note = anchorOf(elt).nextElementSibling;
    if (note && note.classList.contains(REFUSED_CLASS)) { note.remove(); }
  }

  var KEPT = " Your text is still in the field.";

  function refusalText(xhr) {
    var status = xhr ? xhr.status : 0;
    if (status === 403) {
      return "Not saved: your role no longer allows changes (you are a viewer now)." + KEPT
        + " Copy it before you leave the page, and ask an admin for the editor role.";
    }
    if (status === 409) {
      return "Not saved: this postmortem was finalized in another session." + KEPT
        + " Copy it, then add it to the final record as an amendment.";
    }
    var plain = xhr && (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
    if (status >= 400 && status < 500) {
      return "Not saved" + (plain && xhr.responseText ? ": " + xhr.responseText : " (the server answered "
        + status + ").") + KEPT;
    }
    return "Not saved: the server failed (" + status + ")." + KEPT
      + " It is saved with your next change once the server works again.";
  }

  function isFinalRefusal(xhr) {
    return xhr.status === 409 && xhr.getResponseHeader("X-Scarlog-Refused") === "final";
  }

  // A 409 for a final record carries no field to swap in: keep the page as it is.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (isFinalRefusal(xhr)) {
      event.detail.shouldSwap = false;
      // beforeSwap is dispatched on the swap target; the field is the requesting element.
      showRefusal(event.detail.requestConfig.elt, refusalText(xhr),
                  {href: window.location.pathname, text: "Open the final record"});
    }
  });
  document.addEventListener("htmx:responseError", function (event) {
    showRefusal(event.detail.elt, refusalText(event.detail.xhr));
  });
  function unreachable(event) {
    showRefusal(event.detail.elt, "Not saved: Scarlog could not be reached." + KEPT
      + " It is saved with your next change once the connection is back.");
  }
  document.addEventListener("htmx:sendError", unreachable);
  document.addEventListener("htmx:timeout", unreachable);
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (event.detail.successful && xhr && xhr.status < 300) { clearRefusal(event.detail.elt); }
  });

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
