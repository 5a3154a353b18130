// The workbench's own script (no inline script anywhere: the CSP allows only /static).
// After htmx swaps a part of the page, move the keyboard focus to what changed, so a
// keyboard or screen-reader user is not left on a button that is gone.
document.addEventListener("htmx:afterSwap", function (event) {
  var target = event.detail.target;
  if (!target || target.hasAttribute("data-keep-focus")) { return; }  // a polled region
  if (!target.hasAttribute("tabindex")) { target.setAttribute("tabindex", "-1"); }
  target.focus();
});
// Refuse a double submit of the same form while its answer is on the way.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.sent === "1" && !form.hasAttribute("hx-post")) { event.preventDefault(); return; }
  form.dataset.sent = "1";
  window.setTimeout(function () { delete form.dataset.sent; }, 5000);
});
