// Live org event feed over the websocket, with reconnect and backoff.
(function () {
  const feed = document.getElementById("event-feed");
  const badge = document.getElementById("ws-status");
  if (!feed) return;
  const org = feed.dataset.org;
  let delay = 500;

  function render(event) {
    const empty = feed.querySelector(".empty");
    if (empty) empty.remove();
    const li = document.createElement("li");
    const when = new Date(event.ts || Date.now()).toLocaleTimeString();
    li.innerHTML = "<time></time> <strong></strong> <code></code>";
    li.querySelector("time").textContent = when;
    li.querySelector("strong").textContent = event.type;
    li.querySelector("code").textContent = JSON.stringify(event.data || {});
    feed.prepend(li);
    while (feed.children.length > 100) feed.lastChild.remove();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/orgs/${org}/`);
    ws.onopen = () => { badge.textContent = "live"; badge.className = "badge ok"; delay = 500; };
    ws.onmessage = (msg) => {
      const event = JSON.parse(msg.data);
      if (event.type !== "connected" && event.type !== "pong") render(event);
    };
    ws.onclose = () => {
      badge.textContent = "reconnecting…"; badge.className = "badge warn";
      setTimeout(connect, delay); delay = Math.min(delay * 2, 15000);
    };
  }
  connect();
})();
