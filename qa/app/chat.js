// The chat's client side, run once per page. Everything it shows comes from the escaped HTML the
// server rendered (qa/app/render.py); it only moves, copies and reveals it:
// - a citation [n] previews its quote on hover or focus (a tooltip that Escape closes); clicking
//   it shows that answer's sources in the panel, or, when the panel is under the chat (a phone),
//   in a sheet at the bottom of the screen with a Close button;
// - the answer whose sources the panel shows is marked; a new answer is scrolled into view;
// - Copy and Export under each answer; files dropped on the chat are added to the library.
(() => {
  if (window.__qaChat) return;
  window.__qaChat = true;
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  // ------------------------------------------------------------------------ sources of a citation
  function section(turn) {
    return $(`.qa-sources .qa-turn[data-turn="${CSS.escape(String(turn))}"]`);
  }
  function cardFor(turn, n) {
    const s = section(turn);
    return s && $(`.qa-card[data-n~="${CSS.escape(String(n))}"]`, s);
  }
  function focusQuotes(root, n) {
    $$('.qa-quote.qa-focus', root).forEach(m => m.classList.remove('qa-focus'));
    $$(`.qa-quote[data-n~="${CSS.escape(String(n))}"]`, root).forEach(m => m.classList.add('qa-focus'));
  }
  function show(turn, n, scroll = true) {
    const panel = $('.qa-sources');
    if (!panel) return;
    panel.querySelectorAll('.qa-turn').forEach(s => { s.hidden = s.dataset.turn !== turn; });
    panel.querySelectorAll('.qa-card.qa-active').forEach(c => c.classList.remove('qa-active'));
    markShown();
    const card = n == null ? null : cardFor(turn, n);
    if (!card) { panel.scrollTop = 0; return; }
    card.classList.add('qa-active');
    focusQuotes(card, n);
    if (scroll) card.scrollIntoView({block: 'center', behavior: 'smooth'});
  }
  function stacked() {  // the panel sits under the chat (narrow screens), not beside it
    const chat = $('#qa-chat'), panel = $('#qa-sources');
    if (!chat || !panel) return false;
    return panel.getBoundingClientRect().top >= chat.getBoundingClientRect().bottom - 1;
  }

  // --------------------------------------------------------------------------------- the preview
  let pop = null, popFor = null;
  function popover() {
    if (!pop) {
      pop = document.createElement('div');
      pop.id = 'qa-pop';
      pop.className = 'qa-pop';
      pop.setAttribute('role', 'tooltip');
      pop.hidden = true;
      document.body.appendChild(pop);
    }
    return pop;
  }
  function preview(cite) {
    const n = cite.dataset.n, card = cardFor(cite.dataset.turn, n);
    const p = popover();
    p.replaceChildren();
    const head = document.createElement('div');
    head.className = 'qa-pop-head';
    if (card) {
      const file = $('.qa-file', card), where = $('.qa-where', card);
      head.textContent = `[${n}] ${file ? file.textContent : ''}` +
        (where ? ` · ${where.textContent}` : '');
      const quote = document.createElement('blockquote');
      quote.className = 'qa-pop-quote';
      const text = $$(`.qa-quote[data-n~="${CSS.escape(n)}"]`, card)
        .map(m => m.textContent).join('').trim();
      quote.textContent = text.length > 420 ? text.slice(0, 419).trimEnd() + '…' : text;
      p.append(head, quote);
    } else {
      head.textContent = `Source ${n}`;
      p.append(head);
    }
    const hint = document.createElement('div');
    hint.className = 'qa-pop-hint';
    hint.textContent = stacked() ? 'Tap to open the passage' : 'Click to see it in its paragraph';
    p.append(hint);
    p.hidden = false;
    popFor = cite;
    cite.setAttribute('aria-describedby', 'qa-pop');
    place(p, cite);
  }
  function place(p, cite) {
    const r = cite.getBoundingClientRect();
    const w = Math.min(360, window.innerWidth - 16);
    p.style.width = w + 'px';
    p.style.left = Math.max(8, Math.min(r.left, window.innerWidth - w - 8)) + 'px';
    const h = p.offsetHeight;
    const below = r.bottom + 6;
    p.style.top = (below + h > window.innerHeight - 8 && r.top - h - 6 > 8 ? r.top - h - 6 : below) + 'px';
  }
  function unpreview() {
    if (!pop || pop.hidden) return;
    pop.hidden = true;
    if (popFor) popFor.removeAttribute('aria-describedby');
    popFor = null;
  }
  const citeOf = ev => (ev.target instanceof Element ? ev.target.closest('a.qa-cite') : null);
  document.addEventListener('pointerover', ev => {
    const cite = citeOf(ev);
    if (cite && ev.pointerType === 'mouse' && popFor !== cite) preview(cite);
  });
  document.addEventListener('pointerout', ev => {
    const cite = citeOf(ev);
    // A click focuses the link too; only a keyboard focus keeps the preview once the mouse leaves.
    if (cite && ev.pointerType === 'mouse' && !cite.matches(':focus-visible')) unpreview();
  });
  document.addEventListener('focusin', ev => {
    const cite = citeOf(ev);
    if (cite && !sheetOpen() && !quiet) preview(cite); else if (!cite) unpreview();
  });
  document.addEventListener('focusout', ev => { if (citeOf(ev)) unpreview(); });
  window.addEventListener('scroll', unpreview, true);

  // ------------------------------------------------------------------------------ the phone sheet
  let sheet = null, sheetFor = null, quiet = false;
  function sheetOpen() { return sheet && !sheet.hidden; }
  function openSheet(cite) {
    const turn = cite.dataset.turn, n = cite.dataset.n, card = cardFor(turn, n);
    if (!card) return;
    if (!sheet) {
      sheet = document.createElement('div');
      sheet.className = 'qa-sheet';
      sheet.id = 'qa-sheet';
      sheet.setAttribute('role', 'dialog');
      sheet.setAttribute('aria-labelledby', 'qa-sheet-title');
      sheet.innerHTML = '<div class="qa-sheet-bar"><span id="qa-sheet-title"></span>' +
        '<button type="button" class="qa-sheet-close">Close</button></div><div class="qa-sheet-body"></div>';
      $('.qa-sheet-close', sheet).addEventListener('click', closeSheet);
      document.body.appendChild(sheet);
    }
    unpreview();
    const copy = card.cloneNode(true);
    copy.removeAttribute('id');
    $$('[id]', copy).forEach(e => e.removeAttribute('id'));
    copy.classList.add('qa-active');
    focusQuotes(copy, n);
    $('#qa-sheet-title', sheet).textContent = `Source ${n}`;
    $('.qa-sheet-body', sheet).replaceChildren(copy);
    sheet.hidden = false;
    sheetFor = cite;
    show(turn, n, false);
    const mark = $('.qa-quote.qa-focus', copy);
    if (mark) mark.scrollIntoView({block: 'nearest'});
    // Keep the citation in sight above the sheet.
    const top = sheet.getBoundingClientRect().top, r = cite.getBoundingClientRect();
    if (r.bottom > top - 8 || r.top < 0) {
      cite.scrollIntoView({block: 'nearest'});
      const r2 = cite.getBoundingClientRect();
      if (r2.bottom > top - 8) window.scrollBy(0, r2.bottom - top + 24);
    }
    $('.qa-sheet-close', sheet).focus({preventScroll: true});
  }
  function closeSheet() {
    if (!sheetOpen()) return;
    sheet.hidden = true;
    const back = sheetFor;
    sheetFor = null;
    if (back && document.contains(back)) {
      quiet = true;  // back on the citation: no preview of what was just read
      back.focus({preventScroll: true});
      quiet = false;
    }
  }
  document.addEventListener('keydown', ev => {
    if (ev.key !== 'Escape') return;
    if (sheetOpen()) { ev.preventDefault(); closeSheet(); unpreview(); return; }
    if (pop && !pop.hidden) { ev.preventDefault(); unpreview(); }
  });

  // ----------------------------------------------------------------------- clicks: cite, copy, export
  function flash(button, text) {
    const was = button.dataset.label || button.textContent;
    button.dataset.label = was;
    button.textContent = text;
    setTimeout(() => { button.textContent = was; }, 1600);
  }
  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (e) {  // no clipboard permission: the old way
      const area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      const ok = document.execCommand('copy');
      area.remove();
      return ok;
    }
  }
  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], {type: 'text/markdown;charset=utf-8'}));
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }
  document.addEventListener('click', ev => {
    const el = ev.target instanceof Element ? ev.target : null;
    if (!el) return;
    const cite = el.closest('a.qa-cite');
    if (cite) {
      ev.preventDefault();
      ev.stopPropagation();
      if (stacked()) openSheet(cite); else show(cite.dataset.turn, cite.dataset.n);
      return;
    }
    const action = el.closest('.qa-actions button');
    if (action) {
      ev.preventDefault();
      ev.stopPropagation();
      const bar = action.closest('.qa-actions');
      if (action.classList.contains('qa-copy')) {
        copy(bar.dataset.copy).then(ok => flash(action, ok ? 'Copied' : 'Copy failed'));
      } else {
        download(bar.dataset.filename, bar.dataset.markdown);
        flash(action, 'Saved');
      }
      return;
    }
    if (sheetOpen() && !el.closest('#qa-sheet')) closeSheet();
    const answer = el.closest('.qa-answer[data-turn]');
    if (answer) show(answer.dataset.turn, null);
  }, true);

  // ------------------------------------------------- which answer is shown; new answers in view
  function markShown() {
    const visible = $('.qa-sources .qa-turn:not([hidden])');
    const turn = visible ? visible.dataset.turn : null;
    $$('#qa-chat .qa-answer[data-turn]').forEach(a => {
      const on = a.dataset.turn === turn;
      a.classList.toggle('qa-shown', on);
      const label = $('.qa-shown-label', a);
      if (on && !label) {
        const tag = document.createElement('span');
        tag.className = 'qa-shown-label';
        tag.textContent = 'Sources shown';
        (a.querySelector('.qa-actions') || a).appendChild(tag);
      } else if (!on && label) label.remove();
    });
  }
  // Gradio labels each message with its raw HTML ("bot's message: <div class=…"): screen readers
  // get the words instead. The hidden file input behind the chat's drop zone takes no Tab stop.
  function words(el) {
    const c = el.cloneNode(true);
    c.querySelectorAll('.qa-actions').forEach(a => a.remove());
    return c.textContent.replace(/\s+/g, ' ').trim();
  }
  function tidy() {
    $$('#qa-chat [data-testid="bot"][aria-label], #qa-chat [data-testid="user"][aria-label]')
      .forEach(m => {
        const body = $('.qa-answer, .qa-error, .qa-question', m);
        if (!body) return;
        const label = (m.dataset.testid === 'bot' ? 'Answer: ' : 'Question: ') + words(body);
        if (m.getAttribute('aria-label') !== label) m.setAttribute('aria-label', label);
      });
    const drop = $('#qa-chat-drop');
    if (drop && drop.getAttribute('aria-hidden') !== 'true') drop.setAttribute('aria-hidden', 'true');
    $$('#qa-chat-drop button, #qa-chat-drop input, #qa-chat-drop [tabindex]')
      .forEach(e => { if (e.tabIndex !== -1) e.tabIndex = -1; });
    // Gradio names its upload area "Click to upload or drop files" while it reads "Drop File
    // Here - or - Click to Upload": a speech-input user saying what they see would miss it
    // (axe: label-content-name-mismatch). Its words are its name.
    $$('#qa-upload button.upload-container[aria-label]').forEach(b => b.removeAttribute('aria-label'));
    // The list of past conversations says what it is while nothing is chosen (it has no label).
    const past = $('#qa-past input');
    if (past && past.placeholder !== 'Past conversations') past.placeholder = 'Past conversations';
  }
  let answers = 0, queued = false;
  function settle() {
    queued = false;
    const all = $$('#qa-chat .qa-answer, #qa-chat .qa-error');
    if (all.length > answers && all.length) {
      const latest = all[all.length - 1].closest('.message-row') || all[all.length - 1];
      const r = latest.getBoundingClientRect();
      if (r.top < 0 || r.bottom > window.innerHeight) latest.scrollIntoView({block: 'nearest'});
    }
    answers = all.length;
    markShown();
    tidy();
    const note = $('#qa-drop-status[data-pending]');
    if (note && note.textContent !== note.dataset.before) delete note.dataset.pending;
  }
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(settle); }
  }).observe(document.documentElement, {subtree: true, childList: true});

  // ------------------------------------------------------------------- drop files on the chat
  const hasFiles = ev => ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files');
  const zone = ev => (ev.target instanceof Element ? ev.target.closest('#qa-chat-column') : null);
  let depth = 0;
  document.addEventListener('dragenter', ev => {
    const z = zone(ev);
    if (!z || !hasFiles(ev)) return;
    depth += 1;
    z.classList.add('qa-dragging');
  });
  document.addEventListener('dragleave', ev => {
    const z = zone(ev);
    if (!z) return;
    depth = Math.max(0, depth - 1);
    if (!depth) z.classList.remove('qa-dragging');
  });
  document.addEventListener('dragover', ev => {
    if (zone(ev) && hasFiles(ev)) { ev.preventDefault(); ev.dataTransfer.dropEffect = 'copy'; }
  });
  document.addEventListener('drop', ev => {
    const z = zone(ev);
    if (!z || !hasFiles(ev)) return;
    ev.preventDefault();
    ev.stopPropagation();
    depth = 0;
    z.classList.remove('qa-dragging');
    const input = $('#qa-chat-drop input[type=file]');
    if (!input || !ev.dataTransfer.files.length) return;
    const files = new DataTransfer();
    Array.from(ev.dataTransfer.files).forEach(f => files.items.add(f));
    input.files = files.files;
    input.dispatchEvent(new Event('change', {bubbles: true}));
    const note = $('#qa-drop-status');
    if (note) {
      note.dataset.before = note.textContent;
      note.dataset.pending = `Adding ${files.files.length} file(s) to the library…`;
    }
  }, true);
})();
