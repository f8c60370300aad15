// The draft as the meeting's page: keyboard shortcuts, the current field, folded sections
// and aria-invalid on refused autosaves (docs/rules.md#meeting-page).
// - Alt+J / Alt+K: next / previous field (a folded section's heading is a stop; Enter opens it).
// - Alt+S: the scan's next unanswered question. In a scan row: Y, N, A answer yes, no, not
//   applicable and move to the next question; Up / Down move between questions.
// - Alt+T: add a timeline row (the new row's time input takes the focus).
// - Alt+M: mark the current field "incomplete, pending trace review", or clear the mark.
// - Alt+L / Alt+C: open or fold the long-form sections / the impact and cost panel.
// The page lists these (templates/incidents/partials/shortcuts.html). Keys act on the page
// only where it carries [data-meeting-keys]. Alt combinations use event.code, so they work
// whatever character Alt+letter types on the keyboard layout.
(function () {
  "use strict";
  var ANSWERS = {y: "yes", n: "no", a: "na"};

  function layout() { return document.querySelector("[data-meeting-keys]"); }

  // ---- Folds: open or closed, remembered per user in localStorage --------------------
  function foldKey(details) {
    var root = layout();
    return "scarlog.fold." + (root ? root.dataset.user : "") + "." + details.dataset.fold;
  }
  function storedFold(details) {
    try { return window.localStorage.getItem(foldKey(details)); } catch (e) { return null; }
  }
  function storeFold(details) {
    try {
      window.localStorage.setItem(foldKey(details), details.open ? "open" : "closed");
    } catch (e) { /* storage refused (private mode): the fold still works, unremembered */ }
  }
  function restoreFolds() {
    document.querySelectorAll("details[data-fold]").forEach(function (details) {
      var stored = storedFold(details);
      if (stored === "open") { details.open = true; }
      if (stored === "closed") { details.open = false; }
      details.addEventListener("toggle", function () { storeFold(details); });
    });
  }
  function openFoldsAround(element) {
    var details = element && element.closest("details:not([open])");
    while (details) {
      details.open = true;
      details = details.parentElement.closest("details:not([open])");
    }
  }
  function openForHash() {
    if (!window.location.hash) { return; }
    var target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
    if (target) { openFoldsAround(target); target.scrollIntoView(); }
  }
  // A link to a field inside a fold (the agenda, the finalize refusal) opens the fold first.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    openFoldsAround(document.getElementById(decodeURIComponent(link.hash.slice(1))));
  });
  window.addEventListener("hashchange", openForHash);

  // ---- The current field -----------------------------------------------------------
  function sectionKey(section) { return section.id.replace(/^section-/, ""); }
  function markCurrent(section) {
    document.querySelectorAll("section.field.here, #progress li.here").forEach(function (el) {
      el.classList.remove("here");
      el.removeAttribute("aria-current");
    });
    if (!section) { return; }
    section.classList.add("here");
    var line = document.getElementById("progress-" + sectionKey(section))
      || document.getElementById("check-" + sectionKey(section));
    if (line) { line.classList.add("here"); line.setAttribute("aria-current", "step"); }
  }
  function currentSection() {
    var active = document.activeElement;
    return (active && active.closest && active.closest(".fields section.field"))
      || document.querySelector(".fields section.field.here");
  }
  document.addEventListener("focusin", function (event) {
    var section = event.target.closest && event.target.closest(".fields section.field");
    if (section) { markCurrent(section); }
  });
  // The agenda is swapped in after saves: mark the current line again.
  document.addEventListener("htmx:afterSettle", function () {
    var here = document.querySelector(".fields section.field.here");
    if (here) { markCurrent(here); }
  });

  function visible(element) {
    return !element.parentElement.closest("details:not([open])") && element.offsetParent !== null;
  }
  function stops() {
    return Array.prototype.filter.call(
      document.querySelectorAll(".fields section.field, .fields details.fold > summary"),
      function (element) {
        return element.tagName === "SUMMARY"
          ? !element.parentElement.parentElement.closest("details:not([open])") : visible(element);
      });
  }
  function firstControl(section) {
    if (section.id === "section-scan") { return scanTarget(null); }
    var controls = section.querySelectorAll(
      "textarea, input:not([type=hidden]), select, button");
    for (var i = 0; i < controls.length; i++) {
      var control = controls[i];
      if (control.disabled || !visible(control)) { continue; }
      if (control.type === "radio") {
        var checked = section.querySelector("input[type=radio][name='" + control.name + "']:checked");
        return checked || control;
      }
      return control;
    }
    return null;
  }
  function goTo(stop) {
    if (!stop) { return; }
    if (stop.tagName === "SUMMARY") {
      stop.scrollIntoView({block: "start"});
      stop.focus({preventScroll: true});
      return;
    }
    stop.scrollIntoView({block: "start"});
    var control = firstControl(stop);
    if (control) { control.focus({preventScroll: true}); }
    markCurrent(stop);
  }
  function moveField(step) {
    var list = stops();
    var active = document.activeElement;
    var index = list.findIndex(function (stop) {
      return stop === active || (stop.tagName !== "SUMMARY" && stop.contains(active));
    });
    if (index < 0) { index = list.indexOf(document.querySelector(".fields section.field.here")); }
    var next = index < 0 ? (step > 0 ? 0 : list.length - 1) : index + step;
    if (next >= 0 && next < list.length) { goTo(list[next]); }
  }

  // ---- The scan ---------------------------------------------------------------------
  function scanRows() {
    return Array.prototype.slice.call(document.querySelectorAll("form[data-scan-row]"));
  }
  function rowRadio(row) {
    return row.querySelector("input[type=radio]:checked") || row.querySelector("input[type=radio]");
  }
  // The row after `row` (or the first) that has no answer yet, else the next row.
  function scanTarget(row) {
    var rows = scanRows();
    var start = row ? rows.indexOf(row) + 1 : 0;
    for (var i = start; i < rows.length; i++) {
      if (rows[i].classList.contains("unanswered")) { return rowRadio(rows[i]); }
    }
    return rows[start] ? rowRadio(rows[start]) : (rows.length ? rowRadio(rows[0]) : null);
  }
  function focusRow(row) {
    if (!row) { return; }
    var radio = rowRadio(row);
    if (radio) { radio.focus(); }
  }
  function answer(row, value) {
    var radio = row.querySelector("input[type=radio][value='" + value + "']");
    if (!radio) { return; }
    if (!radio.checked) { radio.click(); }  // fires "change": the row saves (hx-trigger)
    var rows = scanRows();
    focusRow(rows[rows.indexOf(row) + 1] || row);
  }
  // A row answered with the arrow keys is swapped while focused: keep the focus in it.
  var refocus = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    if (target && target.matches && target.matches("form[data-scan-row]") && target.contains(active)) {
      refocus = {id: target.id, name: active.name, radio: active.type === "radio"};
    }
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!refocus) { return; }
    var row = document.getElementById(refocus.id);
    var wanted = refocus;
    refocus = null;
    if (!row || (document.activeElement && document.activeElement !== document.body)) { return; }
    var control = wanted.radio ? rowRadio(row) : row.querySelector("[name='" + wanted.name + "']");
    if (control) { control.focus(); }
  });

  // ---- aria-invalid: a field whose feedback says "not saved" (an error, or the conflict
  // box of a refused 409 save until it is resolved) ------------------------------------
  function markInvalid(feedback) {
    if (!feedback.id) { return; }
    var refused = !!feedback.querySelector(".error") || feedback.classList.contains("conflict");
    document.querySelectorAll("[aria-describedby~='" + feedback.id + "']").forEach(function (el) {
      if (refused) { el.setAttribute("aria-invalid", "true"); } else { el.removeAttribute("aria-invalid"); }
    });
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.matches && elt.matches(".feedback")) { markInvalid(elt); }
    document.querySelectorAll(".fields .feedback").forEach(markInvalid);
  });

  // ---- Keys --------------------------------------------------------------------------
  function clickIn(container, selector, text) {
    if (!container) { return false; }
    var buttons = container.querySelectorAll(selector);
    for (var i = 0; i < buttons.length; i++) {
      if (!text || buttons[i].textContent.trim().indexOf(text) === 0) { buttons[i].click(); return true; }
    }
    return false;
  }
  function togglePending() {
    var section = currentSection();
    if (!section) { return; }
    var feedback = document.getElementById("feedback-" + sectionKey(section));
    if (!clickIn(feedback, "button", "Mark incomplete")) { clickIn(feedback, "button", "Clear the mark"); }
  }
  function toggleFold(name) {
    var details = document.querySelector("details[data-fold='" + name + "']");
    if (!details) { return; }
    details.open = !details.open;
    var summary = details.querySelector("summary");
    if (details.open) {
      var first = details.querySelector("section.field");
      if (first) { goTo(first); return; }
    }
    summary.scrollIntoView({block: "start"});
    summary.focus({preventScroll: true});
  }

  var ALT = {
    KeyJ: function () { moveField(1); },
    KeyK: function () { moveField(-1); },
    KeyS: function () {
      var section = document.getElementById("section-scan");
      var target = scanTarget(null);
      if (section && target) { target.closest("form").scrollIntoView({block: "center"}); target.focus({preventScroll: true}); markCurrent(section); }
    },
    KeyT: function () {
      var section = document.getElementById("section-timeline");
      if (section) { section.scrollIntoView({block: "start"}); clickIn(section, "[data-add-row='timeline']"); }
    },
    KeyM: togglePending,
    KeyL: function () { toggleFold("long-form"); },
    KeyC: function () { toggleFold("costs"); },
  };

  document.addEventListener("keydown", function (event) {
    if (!layout() || event.defaultPrevented) { return; }
    if (event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey && ALT[event.code]) {
      event.preventDefault();
      ALT[event.code]();
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var target = event.target;
    var row = target.closest && target.closest("form[data-scan-row]");
    if (!row || target.type !== "radio") { return; }
    var key = event.key.toLowerCase();
    if (ANSWERS[key]) {
      event.preventDefault();
      answer(row, ANSWERS[key]);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var rows = scanRows();
      focusRow(rows[rows.indexOf(row) + (event.key === "ArrowDown" ? 1 : -1)]);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (!layout()) { return; }
    restoreFolds();
    openForHash();
  });
})();
