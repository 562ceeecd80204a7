// Service worker for SchedKit alert notifications (web push). Registered by map.js.
self.addEventListener("push", (event) => {
  let alert = {};
  try { alert = event.data ? event.data.json() : {}; } catch (e) { alert = { body: event.data && event.data.text() }; }
  const title = alert.title || "SchedKit alert";
  event.waitUntil(self.registration.showNotification(title, {
    body: alert.body || "",
    tag: alert.id || undefined,
    requireInteraction: true,
    data: { url: alert.url || "/signals/map/" },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/signals/map/";
  event.waitUntil(self.clients.openWindow(url));
});
