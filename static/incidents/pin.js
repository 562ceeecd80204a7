// The new-incident form's pin: a map (the shared base map of static/js/basemap.js) where a
// click or tap places a draggable pin that fills Latitude/Longitude; typing them moves the pin.
(function () {
  "use strict";
  document.querySelectorAll("[data-pin-map]").forEach(init);

  function init(el) {
    const form = el.closest("form");
    const lat = form.querySelector("input[name=lat]");
    const lng = form.querySelector("input[name=lng]");
    const clear = form.querySelector("#pin-clear");
    const config = JSON.parse(document.getElementById(el.dataset.pinMap).textContent);
    const details = el.closest("details");
    let map = null;
    let marker = null;

    function typed() {
      const a = parseFloat(lat.value);
      const b = parseFloat(lng.value);
      if (lat.value === "" || lng.value === "" || Number.isNaN(a) || Number.isNaN(b)) return null;
      if (a < -90 || a > 90 || b < -180 || b > 180) return null;
      return L.latLng(a, b);
    }

    function write(latlng) {
      const w = latlng.wrap();
      lat.value = w.lat.toFixed(6);
      lng.value = w.lng.toFixed(6);
    }

    function place(latlng) {
      if (!marker) {
        marker = L.marker(latlng, { draggable: true, autoPan: true, title: "Incident location", alt: "Incident location" }).addTo(map);
        marker.on("dragend", () => write(marker.getLatLng()));
        marker.getElement().classList.add("incident-pin");
      } else {
        marker.setLatLng(latlng);
      }
      if (clear) clear.hidden = false;
    }

    function unplace() {
      if (marker) { marker.remove(); marker = null; }
      if (clear) clear.hidden = true;
    }

    function frame() {
      const here = typed();
      if (here) {
        map.setView(here, Math.max(map.getZoom(), 13));
      } else if (config.bounds) {
        map.fitBounds(L.latLngBounds(config.bounds).pad(0.3), { maxZoom: 13 });
      }
    }

    function open() {
      if (map) { map.invalidateSize(); return; }
      map = window.SchedKitMap && window.SchedKitMap.create(el, config);
      if (!map) { el.hidden = true; return; }  // no Leaflet: typing the coordinates still works
      map.on("click", (e) => { place(e.latlng); write(e.latlng); });
      const here = typed();
      if (here) place(here);
      frame();
    }

    [lat, lng].forEach((input) => input.addEventListener("input", () => {
      if (!map) return;
      const here = typed();
      if (here) { place(here); map.panTo(here); } else if (lat.value === "" && lng.value === "") unplace();
    }));
    if (clear) clear.addEventListener("click", () => { unplace(); lat.value = ""; lng.value = ""; });

    if (!details || details.open) open();
    if (details) details.addEventListener("toggle", () => { if (details.open) open(); });
  }
})();
