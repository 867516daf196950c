// Runs once per page: clicking [n] shows the sources of that answer and brings card n into view;
// clicking elsewhere in an answer shows its sources.
(() => {
  if (window.__qaChat) return;
  window.__qaChat = true;
  function show(turn, n) {
    const panel = document.querySelector('.qa-sources');
    if (!panel) return;
    panel.querySelectorAll('.qa-turn').forEach(s => { s.hidden = s.dataset.turn !== turn; });
    panel.querySelectorAll('.qa-card.qa-active').forEach(c => c.classList.remove('qa-active'));
    const card = n == null ? null : document.getElementById('qa-src-' + turn + '-' + n);
    if (!card) { panel.scrollTop = 0; return; }
    card.classList.add('qa-active');
    card.scrollIntoView({block: 'center', behavior: 'smooth'});
  }
  document.addEventListener('click', (ev) => {
    const el = ev.target instanceof Element ? ev.target : null;
    const cite = el && el.closest('a.qa-cite');
    if (cite) {
      ev.preventDefault();
      ev.stopPropagation();
      show(cite.dataset.turn, cite.dataset.n);
      return;
    }
    const answer = el && el.closest('.qa-answer[data-turn]');
    if (answer) show(answer.dataset.turn, null);
  }, true);
})();
