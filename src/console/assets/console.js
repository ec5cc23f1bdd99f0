// butler console: the live parts only. Everything shown is set with textContent, never parsed as HTML.
"use strict";

(function () {
  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function utc(ts) {
    var d = new Date(Number(ts) * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }

  // The log tail: appends each `log` event of the stream to the table.
  function logTail(body) {
    var state = document.getElementById("live-state");
    var source = new EventSource(body.getAttribute("data-stream"));
    source.addEventListener("open", function () { if (state) state.textContent = "connected"; });
    source.addEventListener("error", function () { if (state) state.textContent = "reconnecting"; });
    source.addEventListener("log", function (ev) {
      var e;
      try { e = JSON.parse(ev.data); } catch (err) { return; }
      if (body.querySelector('tr[data-id="' + Number(e.id) + '"]')) return;
      var row = document.createElement("tr");
      row.setAttribute("data-id", String(Number(e.id)));
      cell(row, utc(e.ts));
      var level = document.createElement("span");
      level.className = "level " + String(e.level).replace(/[^a-z]/g, "");
      level.textContent = String(e.level);
      cell(row, "").appendChild(level);
      cell(row, String(e.service));
      cell(row, String(e.msg), "msg");
      cell(row, e.meta === undefined || e.meta === null ? "" : JSON.stringify(e.meta), "meta");
      body.appendChild(row);
    });
  }

  // Status figures: `data-live` cells, bundler statuses and banners from the status stream.
  function statusFeed(root) {
    var source = new EventSource(root.getAttribute("data-live-status"));
    source.addEventListener("status", function (ev) {
      var s;
      try { s = JSON.parse(ev.data); } catch (err) { return; }
      root.querySelectorAll("[data-live]").forEach(function (el) {
        var v = s[el.getAttribute("data-live")];
        el.textContent = v === null || v === undefined ? "-" : String(v);
      });
      (s.bundlers || []).forEach(function (b) {
        root.querySelectorAll("[data-bundler-status]").forEach(function (el) {
          if (el.getAttribute("data-bundler-status") !== b.id) return;
          el.textContent = String(b.status);
          el.className = "status " + String(b.status).toLowerCase().replace(/[^a-z]/g, "");
        });
        root.querySelectorAll("[data-bundler-restarts]").forEach(function (el) {
          if (el.getAttribute("data-bundler-restarts") !== b.id) return;
          el.textContent = b.restarts === null || b.restarts === undefined ? "-" : String(b.restarts);
        });
      });
      var banners = document.getElementById("banners");
      if (banners) {
        while (banners.firstChild) banners.removeChild(banners.firstChild);
        (s.banners || []).forEach(function (b) {
          var p = document.createElement("p");
          p.className = "banner " + String(b.severity).replace(/[^a-z]/g, "");
          p.textContent = String(b.message);
          banners.appendChild(p);
        });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.getElementById("log-rows");
    if (body && body.hasAttribute("data-stream")) logTail(body);
    var root = document.querySelector("[data-live-status]");
    if (root) statusFeed(root);
  });
})();
