// Schedule calendar: FullCalendar (vendored) over /v1/schedule-entries, drag/drop + resize to
// reschedule (asking single/future/all for recurring entries), live over /ws/orgs/<slug>/.
(function () {
  "use strict";
  const root = document.getElementById("schedule-page");
  if (!root) return;
  const org = root.dataset.org;
  const csrf = root.dataset.csrf;
  const editable = root.dataset.editable === "true";
  const message = document.getElementById("schedule-message");
  const assigneeSelect = document.getElementById("filter-assignee");
  const teamSelect = document.getElementById("filter-team");
  const dialog = document.getElementById("scope-dialog");

  function say(text) { message.textContent = text; }

  function headers() {
    return { "Content-Type": "application/json", "X-Org": org, "X-CSRFToken": csrf, Accept: "application/json" };
  }

  function query(info) {
    const params = new URLSearchParams({ start: info.start.toISOString(), end: info.end.toISOString() });
    if (assigneeSelect && assigneeSelect.value) params.set("assignee", assigneeSelect.value);
    if (teamSelect && teamSelect.value) params.set("team", teamSelect.value);
    return params;
  }

  let lastItems = [];

  async function loadEvents(info, success, failure) {
    try {
      const response = await fetch(`/v1/schedule-entries?${query(info)}`, { headers: headers(), credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      lastItems = body.results;
      success(body.results.map((item) => ({
        id: item.id,
        title: item.title + (item.assignees.length ? ` · ${item.assignees.map((a) => a.name).join(", ")}` : ""),
        start: item.start,
        end: item.end,
        classNames: [item.is_recurring ? "recurring" : "single", `status-${item.status}`],
        extendedProps: item,
      })));
      renderPeople(info);
    } catch (error) {
      say(`Could not load the schedule: ${error.message}`);
      failure(error);
    }
  }

  function askScope() {
    return new Promise((resolve) => {
      dialog.returnValue = "cancel";
      dialog.addEventListener("close", () => resolve(dialog.returnValue || "cancel"), { once: true });
      dialog.showModal();
    });
  }

  async function save(info) {
    const item = info.event.extendedProps;
    let scope = "single";
    if (item.is_recurring) {
      scope = await askScope();
      if (scope === "cancel") { info.revert(); return; }
    }
    const body = { start: info.event.start.toISOString(), end: (info.event.end || info.event.start).toISOString() };
    if (item.is_recurring) body.scope = scope;
    let response = await patch(info.event.id, body);
    if (response.status === 409) {
      const problem = await response.json();
      const clashes = (problem.conflicts || []).map((c) => `${c.title || c.kind} ${c.start}`).join("\n");
      if (window.confirm(`Double-booking:\n${clashes}\nSave anyway?`)) {
        response = await patch(info.event.id, { ...body, force: true });
      } else { info.revert(); return; }
    }
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      say(`Not saved: ${problem.detail || response.status}`);
      info.revert();
      return;
    }
    say("Saved.");
    calendar.refetchEvents();
  }

  function patch(id, body) {
    return fetch(`/v1/schedule-entries/${encodeURIComponent(id)}`, {
      method: "PATCH", headers: headers(), credentials: "same-origin", body: JSON.stringify(body),
    });
  }

  const calendar = new FullCalendar.Calendar(document.getElementById("calendar"), {
    initialView: root.dataset.initialView || "timeGridWeek",
    initialDate: root.dataset.initialDate || undefined,
    headerToolbar: { left: "prev,next today", center: "title", right: "dayGridMonth,timeGridWeek,timeGridDay,listWeek" },
    firstDay: 1,
    nowIndicator: true,
    editable: editable,
    eventDurationEditable: editable,
    slotDuration: "00:30:00",
    events: loadEvents,
    eventDrop: save,
    eventResize: save,
  });
  calendar.render();
  window.scheduleCalendar = calendar;

  [assigneeSelect, teamSelect].forEach((el) => el && el.addEventListener("change", () => calendar.refetchEvents()));

  // People view: one row per person, one column per day of the visible range.
  const peopleView = document.getElementById("people-view");
  document.getElementById("people-toggle").addEventListener("click", () => {
    peopleView.hidden = !peopleView.hidden;
    renderPeople({ start: calendar.view.activeStart, end: calendar.view.activeEnd });
  });

  function renderPeople(info) {
    if (peopleView.hidden) return;
    const days = [];
    for (let d = new Date(info.start); d < info.end && days.length < 42; d.setDate(d.getDate() + 1)) days.push(new Date(d));
    const head = document.getElementById("people-head");
    head.innerHTML = "<th>Person</th>" + days.map((d) => `<th>${d.toLocaleDateString(undefined, { weekday: "short", day: "numeric" })}</th>`).join("");
    document.querySelectorAll("#people-body tr").forEach((row) => {
      const member = row.dataset.member;
      const name = row.querySelector("th").outerHTML;
      const cells = days.map((day) => {
        const next = new Date(day); next.setDate(next.getDate() + 1);
        const mine = lastItems.filter((i) => i.assignees.some((a) => a.membership_id === member)
          && new Date(i.start) < next && new Date(i.end) > day);
        return `<td>${mine.map((i) => `<span class="slot" title="${escapeHtml(i.title)}">${new Date(i.start).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} ${escapeHtml(i.title)}</span>`).join("")}</td>`;
      });
      row.innerHTML = name + cells.join("");
    });
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // Live refresh: any schedule.* event of the org refetches the visible range.
  const status = document.getElementById("ws-status");
  let retry = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/orgs/${org}/`);
    ws.onopen = () => { status.textContent = "live"; retry = 1000; };
    ws.onmessage = (message) => {
      try {
        const event = JSON.parse(message.data);
        const type = event.type || (event.event && event.event.type) || "";
        if (type.startsWith("schedule.")) calendar.refetchEvents();
      } catch (error) { /* not an event envelope */ }
    };
    ws.onclose = () => { status.textContent = "offline"; setTimeout(connect, retry); retry = Math.min(retry * 2, 30000); };
  }
  connect();
})();
