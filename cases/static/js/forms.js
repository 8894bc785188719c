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

// A second press while the first is on its way would post the form twice (two comments, two
// answers, each told to everyone): it is sent once. The page normally goes with it; one that
// stays (a refusal answered in place, a download) may send it again after a while, and a page
// the browser brings back from its history may at once.
const RESEND_AFTER_MS = 10000;
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || form.method.toLowerCase() !== "post") return;
  if (form.dataset.sending) {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "1";
  setTimeout(() => delete form.dataset.sending, RESEND_AFTER_MS);
});
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-sending]").forEach((form) => delete form.dataset.sending);
});
