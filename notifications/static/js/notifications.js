// Live notifications: the bell, toasts, and « Ce dossier a été modifié » on case pages.
// The rows are the truth: each user's notifications are numbered 1, 2, 3… and on every
// (re)connection the page asks for everything after the last number it has seen, so a laptop
// that slept, or a Redis that restarted, loses nothing.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.WebSocket) return;
  // What the page was rendered with is already in the bell count; toasts are for what follows.
  var lastSeq = parseInt(live.dataset.last || "0", 10);
  var bell = document.getElementById("bell-count");
  var toasts = document.getElementById("toasts");
  var caseHeader = document.getElementById("case-header");
  var watchedCase = caseHeader ? parseInt(caseHeader.dataset.case, 10) : null;
  var socket = null, delay = 1000, heartbeat = null;

  function remember(seq) {
    if (seq > lastSeq) lastSeq = seq;
  }

  function setCount(count) {
    if (!bell) return;
    bell.textContent = String(count);
    bell.classList.toggle("fr-badge--new", count > 0);
    bell.classList.toggle("fr-badge--info", count === 0);
  }

  function toast(notification) {
    var box = document.createElement("div");
    box.className = "fr-alert fr-alert--info fr-alert--sm toast";
    box.setAttribute("role", "status");
    var link = document.createElement("a");
    link.href = "/notifications/" + notification.id + "/";
    link.textContent = notification.text;
    var p = document.createElement("p");
    p.appendChild(link);
    box.appendChild(p);
    toasts.appendChild(box);
    setTimeout(function () { box.remove(); }, 8000);
  }

  function caseChanged() {
    var body = document.getElementById("case-body");
    if (!body) return;
    if (!document.getElementById("case-changed")) {
      var banner = document.createElement("div");
      banner.id = "case-changed";
      banner.className = "fr-alert fr-alert--warning fr-alert--sm fr-mb-2w";
      banner.setAttribute("role", "alert");
      banner.innerHTML = "<p>Ce dossier a été modifié. <a href=''>Recharger la page</a></p>";
      body.parentNode.insertBefore(banner, body);
    }
    if (window.htmx) {
      // The case's parts are fetched again and swapped in, without a full reload.
      window.htmx.ajax("GET", window.location.pathname, {
        target: "#case-body", select: "#case-body", swap: "outerHTML"
      });
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + live.dataset.ws);
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "hello", last_seq: lastSeq }));
      if (watchedCase) socket.send(JSON.stringify({ type: "watch", case: watchedCase }));
      heartbeat = setInterval(function () {
        if (socket.readyState === 1) socket.send(JSON.stringify({ type: "ping" }));
      }, 25000);
    };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.type === "notification") {
        var isNew = message.notification.seq > lastSeq;
        remember(message.notification.seq);
        if (isNew && !message.notification.read) {
          toast(message.notification);
          if (bell) setCount(parseInt(bell.textContent || "0", 10) + 1);
        }
      } else if (message.type === "unread") {
        setCount(message.count);
      } else if (message.type === "caught_up") {
        setCount(message.unread);
        delay = 1000;
        // The live stream is off (Redis unavailable): come back later for it.
        if (message.live === false) setTimeout(function () { socket.close(); }, 5000);
      } else if (message.type === "case_changed" && message.case === watchedCase) {
        caseChanged();
      }
    };
    socket.onclose = function () {
      clearInterval(heartbeat);
      // Exponential backoff with jitter, up to 30 s, so that a restarted server is not stormed.
      var wait = delay + Math.floor(Math.random() * 500);
      delay = Math.min(delay * 2, 30000);
      setTimeout(connect, wait);
    };
  }

  document.addEventListener("visibilitychange", function () {
    // A laptop waking up: reconnect at once rather than after the backoff.
    if (!document.hidden && socket && socket.readyState > 1) { delay = 1000; connect(); }
  });
  connect();
})();
