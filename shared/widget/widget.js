/*
 * Pilot Feedback widget. One tag adds a "Feedback" button to a page:
 *
 *   <script src="https://HOST/api/v1/feedback/widget.js" data-tenant-key="pfi_..." async></script>
 *
 * Optional attributes: data-app-version="1.4.2", data-include-query (send the page's
 * query string too). A signed-in app calls PilotFeedback.identify({token: jwt}).
 *
 * Everything lives in a shadow root, so the page's CSS and the widget's do not meet.
 * A send that fails (offline, 5xx, 429) is kept in localStorage and sent again later
 * under the same Idempotency-Key, so the API makes one item however often it is tried.
 */
(function () {
  "use strict";
  if (window.PilotFeedback && window.PilotFeedback.loaded) return;

  var script = document.currentScript || document.querySelector('script[src*="/feedback/widget.js"]');
  var api = new URL(".", script.src).href; // .../api/v1/feedback/
  var tenantKey = script.getAttribute("data-tenant-key") || "";
  var appVersion = script.getAttribute("data-app-version");
  var includeQuery = script.hasAttribute("data-include-query");
  var queueName = "pilot-feedback:queue:" + tenantKey;
  var RETRY_MS = 30000;
  var GIVE_UP_MS = 7 * 24 * 3600 * 1000; // a week: then a kept send is dropped
  var preset = window.PilotFeedback || {};
  var token = preset.token || null;

  var TYPES = [["bug", "Bug"], ["feature", "Feature request"], ["performance", "Performance"],
               ["ux", "Design or usability"], ["docs", "Documentation"], ["other", "Other"]];

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
    "a{color:#1f4fd1}"
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

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
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

  function kept() {
    try { return JSON.parse(localStorage.getItem(queueName) || "[]"); } catch (e) { return []; }
  }

  function keep(list) {
    try {
      if (list.length) localStorage.setItem(queueName, JSON.stringify(list));
      else localStorage.removeItem(queueName);
    } catch (e) { /* storage refused (private mode): the send is lost with the page */ }
  }

  // Resolves to {ok, item} or {ok: false, retry, detail}.
  function post(entry) {
    var headers = {"Content-Type": "application/json", "Idempotency-Key": entry.key};
    var bearer = entry.identified ? (token || entry.token) : null;
    if (bearer) headers.Authorization = "Bearer " + bearer;
    // The key goes in the URL, so the browser's CORS preflight names the tenant too.
    return fetch(api + "?tenant_key=" + encodeURIComponent(tenantKey), {
      method: "POST", headers: headers, body: JSON.stringify(entry.body), credentials: "omit", mode: "cors"
    }).then(function (response) {
      if (response.ok) return response.json().then(function (item) { return {ok: true, item: item}; });
      var retry = response.status >= 500 || response.status === 429 || response.status === 408;
      return response.json().catch(function () { return {}; }).then(function (problem) {
        var detail = problem.detail || ("The feedback service answered " + response.status + ".");
        // Which field, in the dialog's own words, and what is wrong with it.
        var fields = (problem.errors || []).map(function (e) {
          return (FIELDS[e.field] || e.field) + ": " + e.message;
        });
        return {ok: false, retry: retry, detail: fields.length ? detail + " " + fields.join("; ") : detail};
      });
    }, function () {
      return {ok: false, retry: true, detail: "The feedback service could not be reached."};
    });
  }

  var flushing = false;
  function flush() {
    var list = kept();
    if (flushing || !list.length) return;
    flushing = true;
    var left = [];
    list.reduce(function (done, entry) {
      return done.then(function () {
        if (Date.now() - entry.at > GIVE_UP_MS) return;
        return post(entry).then(function (result) { if (!result.ok && result.retry) left.push(entry); });
      });
    }, Promise.resolve()).then(function () {
      // Entries kept meanwhile by this page are not lost: keep what is new since the read.
      var added = kept().filter(function (e) { return !list.some(function (o) { return o.key === e.key; }); });
      keep(left.concat(added));
      flushing = false;
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
  root.appendChild(launcher);
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
    var entry = {key: newKey(), body: body, identified: !!token, token: token, at: Date.now()};
    send.disabled = true;
    say("Sending…");
    post(entry).then(function (result) {
      send.disabled = false;
      if (result.ok) return thank(result.item, null);
      if (!result.retry) return say(result.detail, true);
      keep(kept().concat([entry]));
      thank(null, result.detail);
    });
  });

  window.addEventListener("online", flush);
  setInterval(flush, RETRY_MS);

  function mount() {
    document.body.appendChild(host);
    flush();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.PilotFeedback = {
    loaded: true,
    /** Submit as a signed-in user: `token` is a JWT from the app's identity provider (null: anonymous). */
    identify: function (options) {
      token = (options && options.token) || null;
      emailRow.hidden = !!token;
    },
    open: open,
    close: shut
  };
  document.dispatchEvent(new CustomEvent("pilotfeedback:ready"));
})();
