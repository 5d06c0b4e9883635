// Keyboard for the console; every action also works without it (plain links and forms).
// Single-key shortcuts can be turned off (a speech-input user's words would trigger them),
// in the list of keys; the choice is kept in this browser.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row"));
  var current = -1;
  var keys = document.getElementById("keys");
  var OFF = "pf-console-shortcuts-off";

  function shortcutsOn() {
    try { return window.localStorage.getItem(OFF) === null; } catch (e) { return true; }
  }

  function keepShortcuts(on) {
    try {
      if (on) { window.localStorage.removeItem(OFF); } else { window.localStorage.setItem(OFF, "1"); }
    } catch (e) { /* storage refused: the choice lasts this page */ }
  }

  function showKeys() {
    if (keys && !keys.open) { keys.showModal(); }
  }

  var toggle = document.getElementById("keys-on");
  if (toggle) {
    toggle.checked = shortcutsOn();
    toggle.addEventListener("change", function () { keepShortcuts(toggle.checked); });
  }
  var opener = document.getElementById("keys-open");
  if (opener) {
    opener.hidden = false;
    opener.addEventListener("click", showKeys);
  }

  function typing(target) {
    if (target.tagName === "INPUT") { return !/^(checkbox|radio|button|submit)$/.test(target.type); }
    return /^(TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable;
  }

  function select(index) {
    if (!rows.length) { return; }
    if (current >= 0) { rows[current].classList.remove("current"); }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("current");
    rows[current].querySelector("a").focus();
  }

  function submit(id) {
    var form = document.getElementById(id);
    if (form) { form.requestSubmit(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target) || !shortcutsOn()) { return; }
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "o": if (current >= 0) { window.location = rows[current].querySelector("a.summary").href; } break;
      case "/": var search = document.getElementById("q"); if (search) { search.focus(); } break;
      case "a": submit("acknowledge-form"); break;
      case "r": var response = document.getElementById("response"); if (response) { response.focus(); } break;
      case "?": showKeys(); break;
      default: return;
    }
    event.preventDefault();
  });
})();
