// The live draft (docs/rules.md#live-feed): polls "changed since version N" about once a
// second (the poll is also this page's heartbeat: who, and which field it is in), shows
// who else has the draft open, applies what others saved, and follows the facilitator's
// Next field.
// - A field this page is typing in is never touched: another person's newer value shows
//   beside it (Keep theirs), and this page's next save of it meets the conflict box.
// - A section holding the focus (rows being typed), or one this page's own request is
//   swapping, is never re-rendered: it is refreshed when the focus leaves it. This page's
//   own row adds, removes, scan answers and pending marks are not sent back to it (the
//   feed names the page behind each change), and its own answer drops an older refresh.
// - The view scrolls to the field being read aloud unless the reader scrolled away or is
//   typing; "Follow the facilitator" brings it back.
// - A failed poll is never silent: "Live updates are down — reload to see others'
//   changes" shows until a poll succeeds again. Autosave does not depend on this file.
// - The poll sends the page id the server signed for this user and draft (data-token);
//   on pagehide the page sends a leave (sendBeacon), so it is gone from the others'
//   presence at once. Presence is one line per person ("me" marks the reader).
(function () {
  "use strict";
  var live, since, editor, token, focusedKey = "", following = true, stopped = false;
  var pendingSections = {};
  var currentKey = "", currentLabel = "";
  var TIMEOUT_MS = 5000;

  function sectionKey(elt) {
    var section = elt && elt.closest ? elt.closest("section[id^='section-']") : null;
    return section ? section.id.slice("section-".length) : "";
  }

  function setDown(down, text) {
    var notice = document.getElementById("live-down");
    if (!notice) { return; }
    if (text) { notice.textContent = text; }
    notice.hidden = !down;
  }

  function renderPresence(people) {
    var list = document.getElementById("presence-list");
    var count = document.getElementById("live-count");
    if (!list) { return; }
    list.textContent = "";
    people.forEach(function (person) {
      var li = document.createElement("li");
      li.className = "presence-person" + (person.me ? " me" : "");
      var name = document.createElement("strong");
      name.textContent = person.name + (person.me ? " (you)" : "");
      li.appendChild(name);
      var rest = " — " + person.role + (person.viewer ? " · viewer" : "");
      if (person.field) { rest += " · in " + (person.label || person.field); }
      li.appendChild(document.createTextNode(rest));
      li.dataset.field = person.field;
      list.appendChild(li);
    });
    count.textContent = people.length + (people.length === 1 ? " person here" : " people here");
  }

  function editing(inputs) {
    var active = document.activeElement;
    return inputs.some(function (input) {
      return input === active || (input.type === "radio" && input.closest("fieldset")
                                  && input.closest("fieldset").contains(active));
    });
  }

  function showTheirs(anchor, name, change) {
    var note = anchor.parentElement.querySelector(".live-theirs[data-name='" + name + "']");
    if (!note) {
      note = document.createElement("div");
      note.className = "live-theirs conflict";
      note.dataset.name = name;
      note.setAttribute("role", "status");
      anchor.insertAdjacentElement("afterend", note);
    }
    note.textContent = "";
    var p = document.createElement("p");
    p.textContent = "Someone else saved this while you were typing (version " + change.version
      + "). Yours is kept in the field; theirs:";
    var theirs = document.createElement("p");
    theirs.className = "theirs";
    theirs.textContent = change.value;
    var keep = document.createElement("button");
    keep.type = "button";
    keep.className = "small";
    keep.textContent = "Keep theirs";
    keep.addEventListener("mousedown", function (event) { event.preventDefault(); });
    keep.addEventListener("click", function () {
      setValue(name, change, true);
      note.remove();
    });
    note.appendChild(p);
    note.appendChild(theirs);
    note.appendChild(keep);
  }

  function setValue(name, change, force) {
    var section = document.getElementById("section-" + change.key);
    if (!section) { return; }
    var inputs = Array.prototype.slice.call(section.querySelectorAll("[name='" + name + "']"));
    if (!inputs.length) { return; }
    var version = document.getElementById("version-" + name);
    if (!force && change.editor === editor) {
      // This page's own save coming back: its value is already here (or typed past).
      if (version && Number(version.value) < change.version) {
        version.value = String(change.version);
      }
      return;
    }
    if (!force) {
      if (inputs.some(function (i) { return i.classList.contains("htmx-request"); })) {
        return;  // this page's own save is in flight: its answer wins or meets the conflict
      }
      if (editing(inputs)) {
        var mine = inputs[0].type === "radio" ? "" : inputs[0].value;
        if (inputs[0].type !== "radio" && mine !== change.value) {
          showTheirs(inputs[0], name, change);
        }
        return;
      }
    }
    inputs.forEach(function (input) {
      if (input.type === "radio") {
        input.checked = input.value === change.value;
      } else if (input.value !== change.value) {
        input.value = change.value;
      }
    });
    if (version && Number(version.value) < change.version) {
      version.value = String(change.version);
    }
    var stale = section.querySelector(".live-theirs[data-name='" + name + "']");
    if (stale && force === undefined) { stale.remove(); }
  }

  function swap(id, html) {
    var old = document.getElementById(id);
    if (!old) { return; }
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    var fresh = template.content.firstElementChild;
    if (!fresh) { return; }
    old.replaceWith(fresh);
    htmx.process(fresh);
  }

  var SWAPPING = /(^|\s)htmx-(request|swapping|settling|added)(\s|$)/;
  function busy(elt) {
    return elt.contains(document.activeElement) || SWAPPING.test(elt.className)
      || elt.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added, .conflict");
  }

  function mainElement() { return document.getElementById("main") || document.body; }

  function applySection(key, html) {
    var section = document.getElementById("section-" + key);
    if (!section) { return; }
    if (busy(section)) {
      pendingSections[key] = html;  // applied when the focus leaves the section
      return;
    }
    delete pendingSections[key];
    swap("section-" + key, html);
  }

  function flushPending() {
    Object.keys(pendingSections).forEach(function (key) {
      applySection(key, pendingSections[key]);
    });
  }

  function setCurrent(key, label) {
    currentKey = key;
    currentLabel = label;
    document.querySelectorAll(".live-current").forEach(function (elt) {
      elt.classList.remove("live-current");
    });
    var now = document.getElementById("live-now");
    if (!key) {
      if (now) { now.hidden = true; }
      return;
    }
    if (now) {
      now.hidden = false;
      now.querySelector("strong").textContent = label;
    }
    var section = document.getElementById("section-" + key);
    var item = document.getElementById("progress-" + key);
    if (item) { item.classList.add("live-current"); }
    if (!section) { return; }
    section.classList.add("live-current");
    var active = document.activeElement;
    var typing = active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
    if (following && !typing) {
      section.scrollIntoView({block: "start"});
    }
  }

  var refreshWaiting = false;
  function refreshViewer() {
    var active = document.activeElement;
    if (active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) && mainElement().contains(active)) {
      refreshWaiting = true;  // never under the reader's typing: when the focus leaves
      return;
    }
    refreshWaiting = false;
    fetch(window.location.pathname, {credentials: "same-origin"}).then(function (answer) {
      if (!answer.ok) { throw new Error("status " + answer.status); }
      return answer.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
      var main = document.getElementById("main");
      Array.prototype.slice.call(main.children).forEach(function (child) {
        if (child !== live && !/^(LINK|SCRIPT)$/.test(child.tagName)) { child.remove(); }
      });
      Array.prototype.slice.call(fresh.children).forEach(function (child) {
        if (child.id !== "live" && !/^(LINK|SCRIPT)$/.test(child.tagName)) {
          main.appendChild(document.adoptNode(child));
        }
      });
      htmx.process(main);
    }).catch(function () { setDown(true); });
  }

  function apply(data) {
    renderPresence(data.presence || []);
    if (data.final) {
      stopped = true;
      setDown(true, "This draft was finalized in another session — reload to read the "
              + "final record.");
      return;
    }
    if (data.reload) {
      setDown(true, "Many changes came in — reload to see others' changes.");
    }
    if (data.refresh) { refreshViewer(); }
    Object.keys(data.fields || {}).forEach(function (name) { setValue(name, data.fields[name]); });
    Object.keys(data.sections || {}).forEach(function (key) {
      applySection(key, data.sections[key]);
    });
    Object.keys(data.feedback || {}).forEach(function (key) {
      var old = document.getElementById("feedback-" + key);
      var section = document.getElementById("section-" + key);
      var typing = section && section.contains(document.activeElement);
      if (old && !busy(old) && !typing) { swap("feedback-" + key, data.feedback[key]); }
    });
    var agenda = document.getElementById("progress");
    if (data.progress && agenda && !agenda.contains(document.activeElement)) {
      swap("progress", data.progress);
    }
    if (data.meeting) {
      var panel = document.getElementById("meeting-panel");
      if (data.meeting.panel && panel && !busy(panel)) { swap("meeting-panel", data.meeting.panel); }
      setCurrent(data.meeting.current_field, data.meeting.label);
    } else if (data.progress && currentKey) {
      var item = document.getElementById("progress-" + currentKey);
      if (item) { item.classList.add("live-current"); }
    }
    since = data.version;
  }

  var timer = null;
  function schedule(ms) {
    if (stopped) { return; }
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  var polling = false;
  function poll() {
    if (polling || stopped) { return; }
    polling = true;
    var url = live.dataset.url + "?since=" + encodeURIComponent(since) + "&editor="
      + encodeURIComponent(token) + "&field=" + encodeURIComponent(focusedKey);
    var controller = new AbortController();
    var abort = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"},
                signal: controller.signal})
      .then(function (answer) {
        if (!answer.ok) { throw new Error("status " + answer.status); }
        return answer.json();
      })
      .then(function (data) {
        if (!data.final && !data.reload) { setDown(false, live.dataset.down); }
        apply(data);
      })
      .catch(function () { setDown(true, live.dataset.down); })
      .then(function () {
        clearTimeout(abort);
        polling = false;
        schedule(Number(live.dataset.interval));
      });
  }

  function start() {
    live = document.getElementById("live");
    if (!live) { return; }
    since = Number(live.dataset.since);
    editor = live.dataset.editor;
    token = live.dataset.token;
    window.addEventListener("pagehide", function () {
      stopped = true;
      var form = new FormData();
      form.append("editor", token);
      form.append("csrfmiddlewaretoken", live.dataset.csrf);
      navigator.sendBeacon(live.dataset.leave, form);
    });
    document.addEventListener("focusin", function (event) {
      var key = sectionKey(event.target);
      if (key !== focusedKey) { focusedKey = key; }
    });
    document.addEventListener("focusout", function (event) {
      var left = sectionKey(event.target);
      setTimeout(function () {
        if (!document.activeElement || sectionKey(document.activeElement) !== left) {
          focusedKey = sectionKey(document.activeElement);
          if (pendingSections[left]) { applySection(left, pendingSections[left]); }
          if (refreshWaiting) { refreshViewer(); }
        }
      }, 0);
    });
    // This page's own answer for a section is newer than a refresh waiting for it.
    document.body.addEventListener("htmx:afterSwap", function (event) {
      var target = event.detail.target;
      if (target && target.id && target.id.indexOf("section-") === 0) {
        delete pendingSections[target.id.slice("section-".length)];
      }
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      setTimeout(flushPending, 0);  // after htmx's autofocus: a focused section waits
    });
    var follow = document.getElementById("live-follow");
    function scrolledAway() {
      following = false;
      if (follow) { follow.hidden = false; }
    }
    window.addEventListener("wheel", scrolledAway, {passive: true});
    window.addEventListener("touchmove", scrolledAway, {passive: true});
    document.addEventListener("keydown", function (event) {
      var keys = ["PageUp", "PageDown", "Home", "End", "ArrowUp", "ArrowDown", " "];
      var t = event.target;
      if (keys.indexOf(event.key) >= 0 && !/^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName)) {
        scrolledAway();
      }
    });
    if (follow) {
      follow.addEventListener("click", function () {
        following = true;
        follow.hidden = true;
        setCurrent(currentKey, currentLabel);
      });
    }
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.elt && event.detail.elt.id === "live-next") { schedule(0); }
    });
    if (live.dataset.current) {
      setCurrent(live.dataset.current, live.dataset.currentLabel);
    }
    if (live.dataset.ok !== "true") { setDown(true, live.dataset.down); }
    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
