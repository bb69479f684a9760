/* siyu console: a form is sent once per click. While a post is out its submit buttons are disabled (a double click
   cannot send it twice), and after an HTMX answer the form gets a new one-time key (`submission`) so it can be sent
   again on purpose; the server does the work of one key once (src/siyu/edge/submissions.py). */
(function () {
  "use strict";
  function freshKey() {
    var bytes = new Uint8Array(18);
    window.crypto.getRandomValues(bytes);  // also where crypto.randomUUID is not (plain http on a LAN address)
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function buttons(form) {
    return form.querySelectorAll("button:not([type=button]):not([type=reset]), input[type=submit]");
  }
  function release(form) {
    delete form.dataset.sending;
    buttons(form).forEach(function (b) { b.disabled = false; b.removeAttribute("aria-busy"); });
    var key = form.querySelector("input[name=submission]");
    if (key) key.value = freshKey();
  }
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement) || (form.getAttribute("method") || "get").toLowerCase() !== "post" &&
        !form.hasAttribute("hx-post")) return;
    if (form.dataset.sending === "1") { e.preventDefault(); e.stopImmediatePropagation(); return; }
    form.dataset.sending = "1";
    // After this tick: the browser (or HTMX) has already read the form, the clicked button's value included.
    window.setTimeout(function () {
      buttons(form).forEach(function (b) { b.disabled = true; b.setAttribute("aria-busy", "true"); });
    }, 0);
  }, true);
  document.addEventListener("htmx:afterRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    var form = elt instanceof HTMLFormElement ? elt : (elt && elt.closest ? elt.closest("form") : null);
    if (form && form.isConnected) release(form);
  });
  // Back to a page from the browser's cache: its forms may be sent again (with new keys).
  window.addEventListener("pageshow", function (e) {
    if (e.persisted) document.querySelectorAll("form[data-sending]").forEach(release);
  });
})();
