/* siyu console: the menu button of a phone-width header. Loaded without `defer` in <head>, before the body is
   drawn, so the `js` class folds the menu before the first paint (no flash of the open menu on a phone); without
   scripts the class is never set and the menu simply stays open. Event delegation on the document needs no body. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  function toggleOf(target) {
    return target && target.closest ? target.closest("button.nav-toggle") : null;
  }
  function setOpen(button, open) {
    var header = button.closest("header");
    if (header) header.classList.toggle("open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }
  document.addEventListener("click", function (e) {
    var button = toggleOf(e.target);
    if (button) setOpen(button, button.getAttribute("aria-expanded") !== "true");
  });
  // Escape closes the menu and gives the focus back to its button.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var button = document.querySelector("button.nav-toggle[aria-expanded=true]");
    if (button) { setOpen(button, false); button.focus(); }
  });
})();
