// The one base map of every map page (live map, war room, the new-incident pin): Leaflet
// (vendored) with tiles when configured, else the vendored Natural Earth borders (offline).
// config: {baseLayer, tileUrl, tileAttribution} from schedkit/maps.py.
(function () {
  "use strict";
  const baseLayers = new Map(); // url -> Promise<GeoJSON>, fetched once per page

  function create(el, config, options) {
    if (typeof window.L === "undefined") return null;
    const map = L.map(el, { worldCopyJump: true, attributionControl: Boolean(config.tileUrl), ...(options || {}) })
      .setView([20, 0], 2);
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution || "" }).addTo(map);
      el.classList.add("base-layer-ready");
    } else if (config.baseLayer) {
      if (!baseLayers.has(config.baseLayer)) baseLayers.set(config.baseLayer, fetch(config.baseLayer).then((r) => r.json()));
      baseLayers.get(config.baseLayer).then((geo) => {
        const layer = L.geoJSON(geo, { style: { color: "#8a99ad", weight: 1, fillColor: "#eef2e6", fillOpacity: 1 }, interactive: false });
        layer.addTo(map);
        layer.bringToBack();
        el.classList.add("base-layer-ready");
      }).catch(() => { /* the grid background stays */ });
    }
    return map;
  }

  window.SchedKitMap = { create: create };
})();
