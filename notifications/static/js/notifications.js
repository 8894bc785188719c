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

  // The count shows in the header's tools, in their copy inside the mobile menu (made by the
  // DSFR's script) and beside the « Menu » button on small screens.
  function setCount(count) {
    document.querySelectorAll(".bell-count").forEach(function (badge) {
      badge.textContent = String(count);
      badge.classList.toggle("fr-badge--new", count > 0);
      badge.classList.toggle("fr-badge--info", count === 0);
    });
  }

  // A toast leaves after a while, but never from under the reader's pointer or keyboard.
  function toast(notification) {
    var box = document.createElement("div");
    box.className = "fr-alert fr-alert--info fr-alert--sm toast";
    var link = document.createElement("a");
    link.href = "/notifications/" + notification.id + "/";
    link.textContent = notification.text;
    var p = document.createElement("p");
    p.appendChild(link);
    box.appendChild(p);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "fr-btn--close fr-btn";
    close.title = "Masquer la notification";
    close.textContent = "Masquer la notification";
    close.addEventListener("click", function () {
      box.remove();
      // The keyboard lands on the bell, where the notification can be found again.
      var bellLink = document.getElementById("bell");
      if (bellLink && bellLink.offsetParent) bellLink.focus();
    });
    box.appendChild(close);
    var timer = null;
    function later() { clearTimeout(timer); timer = setTimeout(function () { box.remove(); }, 8000); }
    function hold() { clearTimeout(timer); }
    box.addEventListener("mouseenter", hold);
    box.addEventListener("focusin", hold);
    box.addEventListener("mouseleave", function () { if (!box.contains(document.activeElement)) later(); });
    box.addEventListener("focusout", function (event) {
      if (!box.contains(event.relatedTarget) && !box.matches(":hover")) later();
    });
    toasts.appendChild(box);
    later();
  }

  // A case page is made of parts (data-live-part, each with a stable id). When the case
  // changes, the page is fetched once and each part is swapped by id, except a part whose
  // form holds what the reader typed (or is being typed in): their input is never thrown away.
  function selectChanged(select) {
    var options = Array.prototype.slice.call(select.options);
    if (select.multiple) {
      return options.some(function (option) { return option.selected !== option.defaultSelected; });
    }
    // A single select with no default selected shows its first option.
    var byDefault = options.findIndex(function (option) { return option.defaultSelected; });
    return select.selectedIndex !== (byDefault === -1 ? 0 : byDefault);
  }

  function isDirty(part) {
    var fields = part.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "hidden") continue;
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.tagName === "SELECT") {
        if (selectChanged(field)) return true;
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }

  // What the server gave back after refusing it is the reader's too, though it is the
  // fields' default value now: a refused form (its error summary) or a text returned to copy.
  function givenBack(part) {
    return part.querySelector("[data-error-summary], [data-kept]") !== null;
  }

  function inUse(part) {
    var active = document.activeElement;
    return isDirty(part) || givenBack(part) || (active && part.contains(active) && active.form);
  }

  function dirtyParts() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-live-part]"), function (part) {
      return isDirty(part) || givenBack(part);
    });
  }

  function swapParts(fresh, force) {
    var kept = 0;
    document.querySelectorAll("[data-live-part]").forEach(function (part) {
      var next = part.id && fresh.getElementById(part.id);
      if (!next) return;
      if (!force && inUse(part)) { kept++; return; }
      var active = document.activeElement;
      var focusedId = active && part.contains(active) ? active.id : null;
      var replacement = document.importNode(next, true);
      part.replaceWith(replacement);
      if (window.htmx) window.htmx.process(replacement);
      // Keeps the keyboard where it was when the focused control survives under its id.
      var refocus = focusedId && document.getElementById(focusedId);
      if (refocus) refocus.focus();
    });
    return kept;
  }

  // A refused form is shown at the address it was posted to: the case's own page is the one
  // to read its parts from.
  function pageUrl() {
    var body = document.getElementById("case-body");
    return (body && body.dataset.refreshUrl) || window.location.pathname + window.location.search;
  }

  // One fetch at a time; what is asked meanwhile runs once after it, forced if any caller
  // forced it (« Recharger » must not be answered by a refresh that kept the typed parts).
  var fetching = null, next = null, nextForce = false;
  function refreshParts(force) {
    if (fetching) {
      nextForce = nextForce || force;
      if (!next) {
        next = fetching.then(function () {
          var forced = nextForce;
          next = null; nextForce = false;
          return refreshParts(forced);
        });
      }
      return next;
    }
    fetching = fetch(pageUrl(), {
      credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      var kept = swapParts(fresh, force);
      bannerNote(kept);
    }).catch(function () {
      bannerNote(-1);
    }).then(function () {
      fetching = null;
    });
    return fetching;
  }

  function bannerNote(kept) {
    var note = document.getElementById("case-changed-note");
    if (!note) return;
    if (kept > 0) {
      note.textContent = " Votre saisie en cours a été conservée\u00a0: la partie qui la contient n'a pas été actualisée.";
    } else if (kept < 0) {
      note.textContent = " L'actualisation a échoué.";
    } else {
      note.textContent = "";
    }
  }

  function reloadAll() {
    if (dirtyParts().length &&
        !window.confirm("Recharger effacera ce que vous avez saisi et pas encore envoyé. Continuer\u202f?")) {
      return;
    }
    refreshParts(true).then(function () {
      var banner = document.getElementById("case-changed");
      if (!banner || document.getElementById("case-changed-note").textContent) return;
      banner.remove();
      // The button that had the keyboard is gone: the keyboard goes to the case's title.
      var title = document.querySelector("#case-header h1");
      if (title) { title.setAttribute("tabindex", "-1"); title.focus(); }
    });
  }

  function showBanner(body) {
    if (document.getElementById("case-changed")) return;
    var banner = document.createElement("div");
    banner.id = "case-changed";
    banner.className = "fr-alert fr-alert--warning fr-alert--sm fr-mb-2w";
    banner.setAttribute("role", "status");
    var p = document.createElement("p");
    p.appendChild(document.createTextNode("Ce dossier a été modifié."));
    var note = document.createElement("span");
    note.id = "case-changed-note";
    p.appendChild(note);
    p.appendChild(document.createTextNode(" "));
    var reload = document.createElement("button");
    reload.type = "button";
    reload.id = "case-reload";
    reload.className = "fr-btn fr-btn--sm fr-btn--secondary fr-ml-1w";
    reload.textContent = "Recharger";
    reload.addEventListener("click", reloadAll);
    p.appendChild(reload);
    banner.appendChild(p);
    body.parentNode.insertBefore(banner, body);
  }

  function caseChanged() {
    var body = document.getElementById("case-body");
    if (!body) return;
    showBanner(body);
    refreshParts(false);
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
