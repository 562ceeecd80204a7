// The public booking page shows times in the visitor's zone: without ?timezone= in the URL,
// reload once with the browser's own IANA zone (the server falls back to the host's).
(function () {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const url = new URL(location.href);
    if (!zone || url.searchParams.get("timezone")) return;
    url.searchParams.set("timezone", zone);
    location.replace(url.toString());
  } catch (e) { /* old browser: the host's zone it is */ }
})();
