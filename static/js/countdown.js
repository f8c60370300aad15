// Keeps every meeting-deadline countdown (<span class="countdown" data-deadline="ISO">)
// ticking once a minute; the server renders the first value, so this only refreshes it.
(function () {
  "use strict";
  function span(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    return days ? days + " d " + hours + " h" : hours + " h " + (mins < 10 ? "0" : "") + mins + " m";
  }
  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var ms = Date.parse(el.dataset.deadline) - Date.now();
      el.textContent = ms < 0 ? "overdue by " + span(ms) : span(ms) + " left";
      el.classList.toggle("overdue", ms < 0);
      el.classList.toggle("soon", ms >= 0 && ms < 86400000);
      el.classList.toggle("open", ms >= 86400000);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 30000);
})();
