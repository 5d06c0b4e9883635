/*
 * Pilot Feedback widget. One tag adds a "Feedback" button to a page (README.md, "Web widget"):
 *
 *   <script src="https://HOST/api/v1/feedback/widget.js" data-tenant-key="pfi_..." async></script>
 *
 * Optional attributes: data-app-version="1.4.2", data-include-query (send the page's
 * query string too). A signed-in app calls PilotFeedback.identify({token: jwt}); calls made
 * before the script has run wait in an array and are replayed once the widget is ready:
 *
 *   window.PilotFeedback = window.PilotFeedback || [];
 *   PilotFeedback.push(["identify", {token: jwt}], ["ready", function (widget) { ... }]);
 *
 * Everything lives in a shadow root, so the page's CSS and the widget's do not meet.
 * A send that fails (offline, 5xx, 408, 409, 429) is kept in localStorage and sent again later,
 * backing off, under the same Idempotency-Key, so the API makes one item however often it is
 * tried. What is kept never holds the user's token: only a hash naming them, and a kept send
 * goes out only while that same user is identified (an anonymous one goes out anonymous).
 */
(function () {
  "use strict";
  if (window.PilotFeedback && window.PilotFeedback.loaded) return;

  var script = document.currentScript || document.querySelector('script[src*="/feedback/widget."]');
  var api = new URL(".", script.src).href; // .../api/v1/feedback/
  var tenantKey = script.getAttribute("data-tenant-key") || "";
  var appVersion = script.getAttribute("data-app-version");
  var includeQuery = script.hasAttribute("data-include-query");
  var queueName = "pilot-feedback:queue:" + tenantKey;
  // shared/retention.py's WIDGET_RETRY_HOURS: the API remembers an Idempotency-Key for longer,
  // so a send retried until then is still recognised. A kept send older than this is dropped.
  var RETRY_WINDOW_HOURS = 48;
  var RETRY_WINDOW_MS = RETRY_WINDOW_HOURS * 3600 * 1000;
  var FIRST_BACKOFF_MS = 30000, LONGEST_BACKOFF_MS = 3600000; // doubling per try, jittered
  var CHECK_MS = 15000; // how often the page looks for kept sends that are due
  var queued = Array.isArray(window.PilotFeedback) ? window.PilotFeedback : [];
  var token = null;
  var ANONYMOUS = {token: null, user: null};
  var session = Promise.resolve(ANONYMOUS); // {token, user}: who sends, as kept sends name them

  // <generated from shared/choices.py by `python manage.py client-values`>
  var TYPES = [["bug", "Bug"], ["feature", "Feature request"], ["performance", "Performance"], ["docs", "Documentation"], ["ux", "Design or usability"], ["other", "Other"]];
  // </generated>

  var FIELDS = {feedback_type: "Type", summary: "Summary", description: "Description", rating: "Rating",
                submitter_email: "Your email"};

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:15px;line-height:1.4;color:#1b1f24}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:22px;padding:10px 18px;background:#1f4fd1;color:#fff;font-weight:600;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.25)}",
    ".launcher:hover{background:#173ea6}",
    "button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,a:focus-visible{outline:3px solid #f5a623;outline-offset:2px}",
    "dialog{width:min(420px,calc(100vw - 24px));max-height:calc(100vh - 24px);overflow:auto;border:0;border-radius:10px;padding:20px;box-shadow:0 10px 40px rgba(0,0,0,.35);background:#fff}",
    "dialog::backdrop{background:rgba(15,20,30,.45)}",
    "h2{font-size:19px;margin:0 0 12px}",
    "label,legend{display:block;font-weight:600;margin:10px 0 4px}",
    ".opt{font-weight:400;color:#555}",
    "input[type=text],input[type=email],select,textarea{width:100%;padding:7px 9px;border:1px solid #767676;border-radius:6px;background:#fff}",
    "textarea{resize:vertical}",
    "fieldset{border:0;margin:0;padding:0}",
    "legend{padding:0}",
    ".stars{display:flex;gap:6px}",
    ".stars label{font-weight:400;margin:0;display:flex;align-items:center;gap:3px}",
    ".context{margin:12px 0 0;padding:8px 10px;background:#f3f5f8;border-radius:6px;font-size:13px}",
    ".context p{margin:0 0 4px;font-size:13px;color:#333}",
    ".context dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:2px 10px}",
    ".context dt,.context dd{font-size:13px;margin:0;overflow-wrap:anywhere}",
    ".context dt{color:#555}",
    ".message{min-height:1.4em;margin:10px 0 0}",
    ".message.error{color:#b00020}",
    ".actions{display:flex;justify-content:flex-end;gap:8px;margin-top:14px}",
    ".actions button{padding:8px 16px;border-radius:6px;border:1px solid #1f4fd1;cursor:pointer;font-weight:600}",
    ".send{background:#1f4fd1;color:#fff}",
    ".send:disabled{opacity:.6;cursor:wait}",
    ".cancel{background:#fff;color:#1f4fd1}",
    "a{color:#1f4fd1}",
    ".notice{position:fixed;right:20px;bottom:72px;z-index:2147483000;width:min(360px,calc(100vw - 40px));padding:12px 14px;background:#fff;border-left:4px solid #b00020;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.3)}",
    ".notice p{margin:0}"
  ].join("\n");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (attrs[name] !== false && attrs[name] != null) node.setAttribute(name, attrs[name] === true ? "" : attrs[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function hex(bytes) {
    return Array.prototype.map.call(new Uint8Array(bytes), function (x) { return (x + 256).toString(16).slice(1); }).join("");
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = hex(b);
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  // Who a token names, as a kept send records it: a SHA-256 of the tenant key and the token's
  // issuer and subject, so a refreshed token names the same user and the token itself (a
  // credential) is never stored. A token that is no JWT is hashed whole. A page on plain http
  // has no SubtleCrypto: undefined, and a signed-in user's failed send is not kept there.
  function userOf(jwt) {
    if (!(window.crypto && crypto.subtle)) return Promise.resolve(undefined);
    var claims = null;
    try { claims = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch (e) { /* no JWT */ }
    var name = claims && claims.sub ? [tenantKey, claims.iss, claims.sub].join("\n") : jwt;
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(name)).then(hex);
  }

  // --- what is sent with the feedback, shown in the dialog before sending

  function browser() {
    var d = navigator.userAgentData;
    if (d && d.brands && d.brands.length) {
      var named = d.brands.filter(function (b) { return !/not.?a.?brand/i.test(b.brand); });
      var best = named.filter(function (b) { return b.brand !== "Chromium"; })[0] || named[0] || d.brands[0];
      return best.brand + " " + best.version;
    }
    var m = navigator.userAgent.match(/(Edg|OPR|Firefox|Chrome|Version)\/(\d+)/);
    if (!m) return "unknown";
    return ({Edg: "Edge", OPR: "Opera", Version: "Safari"}[m[1]] || m[1]) + " " + m[2];
  }

  function os() {
    var d = navigator.userAgentData;
    if (d && d.platform) return d.platform;
    var ua = navigator.userAgent;
    return /Windows/.test(ua) ? "Windows" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac OS X/.test(ua) ? "macOS"
      : /Android/.test(ua) ? "Android" : /Linux/.test(ua) ? "Linux" : "unknown";
  }

  function context() {
    var c = {
      page: location.origin + location.pathname + (includeQuery ? location.search : ""),
      browser: browser(),
      os: os(),
      viewport: window.innerWidth + "x" + window.innerHeight,
      language: navigator.language
    };
    if (appVersion) c.app_version = appVersion;
    return c;
  }

  // --- sending, and keeping what could not be sent

  // Kept sends, each {key, body, user, at, next, tries, offline, refused}; anything else there
  // (an older version's format, which held tokens, or junk) is left out, and so dropped.
  function kept() {
    var list;
    try { list = JSON.parse(localStorage.getItem(queueName) || "[]"); } catch (e) { return []; }
    return Array.isArray(list) ? list.filter(function (e) {
      return e && typeof e.key === "string" && e.body && typeof e.at === "number" && "user" in e;
    }) : [];
  }

  function keep(list) {
    try {
      if (list.length) localStorage.setItem(queueName, JSON.stringify(list));
      else localStorage.removeItem(queueName);
    } catch (e) { /* storage refused (private mode): the send is lost with the page */ }
  }

  function forget(key) {
    keep(kept().filter(function (e) { return e.key !== key; }));
  }

  // Whether the current user may send (or see) a kept send: their own, or an anonymous one.
  function mine(entry, s) { return entry.user === null || entry.user === s.user; }

  // Retry-After in milliseconds (seconds or an HTTP date), or 0.
  function retryAfter(response) {
    var value = (response.headers.get("Retry-After") || "").trim();
    var ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - Date.now();
    return ms > 0 ? ms : 0;
  }

  function problemOf(response) {
    var retry = response.status >= 500 || [408, 409, 429].indexOf(response.status) >= 0; // 409: in flight
    return response.json().catch(function () { return null; }).then(function (problem) {
      problem = problem || {};
      var detail = problem.detail || ("The feedback service answered " + response.status + ".");
      // Which field, in the dialog's own words, and what is wrong with it.
      var fields = (Array.isArray(problem.errors) ? problem.errors : []).map(function (e) {
        return (FIELDS[e.field] || e.field) + ": " + e.message;
      });
      return {ok: false, retry: retry, wait: retryAfter(response),
              detail: fields.length ? detail + " " + fields.join("; ") : detail};
    });
  }

  // Resolves to {ok, item} or {ok: false, retry, wait, offline, detail}; never rejects.
  function post(entry, bearer) {
    var headers = {"Content-Type": "application/json", "Idempotency-Key": entry.key};
    if (bearer) headers.Authorization = "Bearer " + bearer;
    // The key goes in the URL, so the browser's CORS preflight names the tenant too.
    return fetch(api + "?tenant_key=" + encodeURIComponent(tenantKey), {
      method: "POST", headers: headers, body: JSON.stringify(entry.body), credentials: "omit", mode: "cors"
    }).then(function (response) {
      if (!response.ok) return problemOf(response);
      return response.json().then(function (item) { return {ok: true, item: item}; }, function () {
        // Not the API's answer (a proxy's or a captive portal's page): sent again under the same key.
        return {ok: false, retry: true, wait: 0, detail: "The feedback service's answer could not be read."};
      });
    }, function () {
      return {ok: false, retry: true, wait: 0, offline: true, detail: "The feedback service could not be reached."};
    });
  }

  // A failed send's next try: doubling from FIRST_BACKOFF_MS, jittered (half to all of it) so that
  // pages do not come back together, and never before the service's Retry-After.
  function later(entry, result) {
    entry.tries = (entry.tries || 0) + 1;
    entry.offline = !!result.offline;
    var backoff = Math.min(LONGEST_BACKOFF_MS, FIRST_BACKOFF_MS * Math.pow(2, entry.tries - 1));
    entry.next = Date.now() + Math.max(result.wait, backoff / 2 + Math.random() * backoff / 2);
    return entry;
  }

  // What becomes of one kept send: null once sent or too old, else the entry to keep. One that
  // failed offline is tried as soon as the network may be back.
  function resend(entry, s, networkBack) {
    if (Date.now() - entry.at > RETRY_WINDOW_MS) return Promise.resolve(null);
    var due = Date.now() >= (entry.next || 0) || (networkBack && entry.offline);
    if (entry.refused || !mine(entry, s) || !due) return Promise.resolve(entry);
    return post(entry, entry.user ? s.token : null).then(function (result) {
      if (result.ok) return null;
      if (result.retry) return later(entry, result);
      entry.refused = result.detail;
      return entry;
    });
  }

  var flushing = false;
  var asked = null; // a flush asked for meanwhile, run next: whether the network may be back
  function flush(networkBack) {
    if (flushing) { asked = !!(asked || networkBack); return; }
    flushing = true;
    var list = [];
    session.then(function (s) {
      list = kept();
      return list.reduce(function (done, entry) {
        return done.then(function (left) {
          return resend(entry, s, networkBack).then(function (e) { return e ? left.concat([e]) : left; });
        });
      }, Promise.resolve([]));
    }).then(function (left) {
      // Meanwhile this page or another may have kept a send, or dropped or sent one.
      var now = kept();
      var has = function (l, e) { return l.some(function (o) { return o.key === e.key; }); };
      keep(left.filter(function (e) { return has(now, e); }).concat(now.filter(function (e) { return !has(list, e); })));
    }).catch(function () { /* nothing sent is lost: what is kept stays for the next try */ }).then(function () {
      flushing = false;
      showRefused();
      var again = asked;
      asked = null;
      if (again !== null) flush(again);
    });
  }

  // --- the button and the dialog

  var host = el("div", {"data-pilot-feedback": true});
  var root = host.attachShadow({mode: "open"});
  if (root.adoptedStyleSheets !== undefined && window.CSSStyleSheet && CSSStyleSheet.prototype.replaceSync) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS); // not inline style: a page's CSP without 'unsafe-inline' still applies it
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(el("style", {text: CSS}));
  }

  var launcher = el("button", {type: "button", "class": "launcher", "aria-haspopup": "dialog", text: "Feedback"});
  var typeField = el("select", {id: "pf-type"}, TYPES.map(function (t) { return el("option", {value: t[0], text: t[1]}); }));
  var summary = el("input", {id: "pf-summary", type: "text", required: true, maxlength: "200", autocomplete: "off"});
  var description = el("textarea", {id: "pf-description", rows: "4", maxlength: "10000"});
  var stars = [1, 2, 3, 4, 5].map(function (n) {
    return el("input", {type: "radio", name: "pf-rating", value: String(n), id: "pf-rating-" + n});
  });
  var email = el("input", {id: "pf-email", type: "email", autocomplete: "email", maxlength: "254", required: true});
  var emailRow = el("div", {}, [
    el("label", {"for": "pf-email"}, [document.createTextNode("Your email "), el("span", {"class": "opt", text: "(to hear back)"})]),
    email]);
  var contextList = el("dl");
  var message = el("p", {"class": "message", role: "status", "aria-live": "polite"});
  var send = el("button", {type: "submit", "class": "send", text: "Send"});
  var cancel = el("button", {type: "button", "class": "cancel", text: "Cancel"});
  var form = el("form", {novalidate: true}, [
    el("h2", {id: "pf-title", text: "Send feedback"}),
    el("label", {"for": "pf-type", text: "Type"}), typeField,
    el("label", {"for": "pf-summary", text: "Summary"}), summary,
    el("label", {"for": "pf-description"}, [document.createTextNode("Description "), el("span", {"class": "opt", text: "(optional)"})]),
    description,
    el("fieldset", {}, [el("legend", {}, [document.createTextNode("Rating "), el("span", {"class": "opt", text: "(optional, 1 to 5)"})]),
      el("div", {"class": "stars"}, stars.map(function (input, i) {
        return el("label", {"for": input.id}, [input, document.createTextNode(String(i + 1))]);
      }))]),
    emailRow,
    el("div", {"class": "context"}, [el("p", {text: "Sent with it:"}), contextList]),
    message,
    el("div", {"class": "actions"}, [cancel, send])
  ]);
  var thanksText = el("p");
  var follow = el("a", {target: "_blank", rel: "noopener", text: "Follow your feedback"});
  var close = el("button", {type: "button", "class": "cancel", text: "Close"});
  var thanks = el("div", {hidden: true}, [el("h2", {id: "pf-thanks", text: "Thank you"}), thanksText,
    el("p", {}, [follow]), el("div", {"class": "actions"}, [close])]);
  var dialog = el("dialog", {"aria-labelledby": "pf-title"}, [form, thanks]);
  // A kept send the service refused for good, told to its writer with what they can do.
  var noticeText = el("p");
  var review = el("button", {type: "button", "class": "send", text: "Edit and send again"});
  var dismiss = el("button", {type: "button", "class": "cancel", text: "Dismiss"});
  var notice = el("div", {"class": "notice", role: "alert", hidden: true}, [noticeText,
    el("div", {"class": "actions"}, [dismiss, review])]);
  var refused = null; // the kept send the notice is about
  root.appendChild(launcher);
  root.appendChild(notice);
  root.appendChild(dialog);

  function showContext() {
    contextList.textContent = "";
    var c = context();
    Object.keys(c).forEach(function (name) {
      contextList.appendChild(el("dt", {text: name.replace("_", " ")}));
      contextList.appendChild(el("dd", {text: String(c[name])}));
    });
  }

  function say(text, isError) {
    message.textContent = text;
    message.className = "message" + (isError ? " error" : "");
  }

  function open() {
    form.hidden = false;
    thanks.hidden = true;
    dialog.setAttribute("aria-labelledby", "pf-title");
    emailRow.hidden = !!token;
    showContext();
    say("");
    if (!dialog.open) dialog.showModal();
    summary.focus();
  }

  function shut() { if (dialog.open) dialog.close(); }

  function showRefused() {
    session.then(function (s) {
      refused = kept().filter(function (e) { return e.refused && mine(e, s); })[0] || null;
      notice.hidden = !refused;
      if (refused) {
        noticeText.textContent = "Your feedback \u201c" + refused.body.summary + "\u201d was not sent: " +
          refused.refused + " Edit it and send it again, or dismiss it.";
      }
    });
  }

  // The refused send back in the dialog, as it was written, with the service's reason.
  function reopen(entry) {
    forget(entry.key);
    notice.hidden = true;
    open();
    typeField.value = entry.body.feedback_type;
    summary.value = entry.body.summary;
    description.value = entry.body.description || "";
    stars.forEach(function (s) { s.checked = Number(s.value) === entry.body.rating; });
    email.value = entry.body.submitter_email || "";
    say(entry.refused, true);
  }

  function thank(item, notSent) {
    form.reset();
    form.hidden = true;
    thanks.hidden = false;
    dialog.setAttribute("aria-labelledby", "pf-thanks");
    thanksText.textContent = notSent
      ? notSent + " Your feedback is kept in this browser and will be sent as soon as the service can be reached."
      : "Your feedback has reached the team.";
    follow.hidden = !(item && item.status_url);
    if (item && item.status_url) follow.href = new URL(item.status_url, api).href;
    close.focus();
  }

  function focusable() {
    return Array.prototype.filter.call(
      dialog.querySelectorAll("button, input, select, textarea, a[href]"),
      function (node) { return !node.disabled && node.offsetParent !== null; });
  }

  launcher.addEventListener("click", open);
  review.addEventListener("click", function () { reopen(refused); });
  dismiss.addEventListener("click", function () { forget(refused.key); showRefused(); });
  cancel.addEventListener("click", shut);
  close.addEventListener("click", shut);
  dialog.addEventListener("close", function () { launcher.focus(); });
  dialog.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") return;
    // Focus stays in the dialog: from the last control Tab goes to the first, and back.
    var nodes = focusable();
    var first = nodes[0], last = nodes[nodes.length - 1];
    var active = root.activeElement;
    if (event.shiftKey && active === first) { last.focus(); event.preventDefault(); }
    else if (!event.shiftKey && active === last) { first.focus(); event.preventDefault(); }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!summary.value.trim()) {
      say("Write a short summary first.", true);
      summary.focus();
      return;
    }
    if (!token && !email.checkValidity()) {
      say(email.value ? "That email address does not look complete." : "Give your email, so the team can answer you.", true);
      email.focus();
      return;
    }
    var rating = stars.filter(function (s) { return s.checked; })[0];
    var body = {
      feedback_type: typeField.value, summary: summary.value.trim(), description: description.value,
      source: "web_app", context: context()
    };
    if (rating) body.rating = Number(rating.value);
    if (!token) body.submitter_email = email.value.trim();
    var entry = {key: newKey(), body: body, at: Date.now()};
    send.disabled = true;
    say("Sending…");
    session.then(function (s) {
      entry.user = s.user;
      return post(entry, s.token).then(function (result) {
        if (result.ok) return thank(result.item, null);
        if (!result.retry) return say(result.detail, true);
        if (entry.user === undefined) return say(result.detail + " Send it again in a while.", true);
        keep(kept().concat([later(entry, result)]));
        thank(null, result.detail);
      });
    }).catch(function () {
      say("Your feedback could not be sent. Send it again in a while.", true);
    }).then(function () { send.disabled = false; });
  });

  window.addEventListener("online", function () { flush(true); });
  setInterval(flush, CHECK_MS);

  /** Submit as a signed-in user: `token` is a JWT from the app's identity provider (null: anonymous). */
  function identify(options) {
    var jwt = (options && options.token) || null;
    token = jwt;
    emailRow.hidden = !!jwt;
    session = jwt ? userOf(jwt).then(function (user) { return {token: jwt, user: user}; }) : Promise.resolve(ANONYMOUS);
    flush(); // this user's kept sends may go now
  }

  var mounted = false;
  var waiting = [];
  var widget = {
    loaded: true,
    identify: identify,
    open: open,
    close: shut,
    /** Calls `callback(PilotFeedback)` once the widget is on the page: at once if it already is. */
    ready: function (callback) { if (mounted) callback(widget); else waiting.push(callback); },
    /** Calls made before the script ran, or after: ["identify", {token}], ["open"], ["ready", callback]. */
    push: function () {
      Array.prototype.forEach.call(arguments, function (call) {
        widget.ready(function () { widget[call[0]].apply(widget, call.slice(1)); });
      });
    }
  };

  function mount() {
    document.body.appendChild(host);
    mounted = true;
    waiting.splice(0).forEach(function (callback) {
      try { callback(widget); } catch (e) { setTimeout(function () { throw e; }); } // the page's error, reported
    });
    document.dispatchEvent(new CustomEvent("pilotfeedback:ready"));
    flush(true);
  }

  window.PilotFeedback = widget;
  widget.push.apply(widget, queued);
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
