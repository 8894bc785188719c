// A refused form comes back with a summary of its errors: start reading there.
document.querySelector("[data-error-summary]")?.focus();

// With the DSFR script running, a button that opens a confirmation dialog opens it instead
// of posting its form; without it, the form posts and the server asks on a page of its own.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-confirm-opener]");
  if (!opener || !window.dsfr) return;
  event.preventDefault();
  const dialog = document.getElementById(opener.getAttribute("aria-controls"));
  const typed = opener.form?.querySelector("textarea[name=comment]");
  const carried = dialog?.querySelector("textarea[name=comment]");
  if (typed && carried && !carried.value) carried.value = typed.value;
  window.dsfr(dialog).modal.disclose();
});
