// Runs once per page. Gradio renders the empty conversation's examples (our suggested questions)
// as role="list" holding buttons, which screen readers and axe-core reject (a list holds list
// items): make it a named group instead, whenever Gradio (re)draws it.
(() => {
  if (window.__qaFirstScreen) return;
  window.__qaFirstScreen = true;
  const fix = () => document.querySelectorAll('#qa-chat .examples[role="list"]').forEach((el) => {
    el.setAttribute('role', 'group');
    el.setAttribute('aria-label', 'Suggested questions');
  });
  new MutationObserver(fix).observe(document.documentElement, {subtree: true, childList: true});
  fix();
})();
