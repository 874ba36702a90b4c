/* Donate form: "your ¥50 will be matched ¥50" for the amount chosen, from the match-preview API. */
(function () {
  var out = document.querySelector('[data-role="match-preview"][data-slug]');
  var form = out && out.closest('form');
  if (!out || !form) return;
  var fmt = window.shanhuiMoney.formatFen;
  var timer = null;

  function chosenFen() {
    var typed = form.querySelector('input[name="amount_yuan"]').value.trim().replace(/^[¥￥]/, '').replace(/,/g, '');
    var m = /^(\d{1,13})(?:\.(\d{1,2}))?$/.exec(typed);
    if (m) return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0') || 0);
    var preset = form.querySelector('input[name="amount_preset"]:checked');
    return preset ? Number(preset.value) : 0;
  }

  function update() {
    var amount = chosenFen();
    if (!amount) { out.textContent = ''; return; }
    fetch('/api/campaigns/' + encodeURIComponent(out.getAttribute('data-slug')) + '/match-preview?amount=' + amount)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        out.textContent = p.match > 0
          ? out.getAttribute('data-template').replace('{amount}', fmt(amount)).replace('{match}', fmt(p.match))
          : out.getAttribute('data-none');
      })
      .catch(function () {});
  }

  form.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(update, 250); });
  form.addEventListener('change', update);
})();
