// Keyboard for the console; every action also works without it (plain links and forms).
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.row"));
  var current = -1;

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
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) { return; }
    var keys = document.getElementById("keys");
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "o": if (current >= 0) { window.location = rows[current].dataset.href; } break;
      case "/": var search = document.getElementById("q"); if (search) { search.focus(); } break;
      case "a": submit("acknowledge-form"); break;
      case "r": var response = document.getElementById("response"); if (response) { response.focus(); } break;
      case "?": if (keys && !keys.open) { keys.showModal(); } break;
      default: return;
    }
    event.preventDefault();
  });
})();
