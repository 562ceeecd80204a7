// Ack countdowns: every .countdown[data-deadline] shows the seconds left, refreshed each second
// (the panels themselves are re-rendered by htmx every 2 s).
(function () {
  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.deadline) - Date.now()) / 1000);
      el.textContent = left > 0 ? left + " s" : "expired";
      el.classList.toggle("expired", left <= 0);
    });
  }
  tick();
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
})();
