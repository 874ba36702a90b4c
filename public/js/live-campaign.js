/* Live campaign page: subscribes to its socket.io room and updates totals and recent gifts. */
(function () {
  var root = document.getElementById('campaign');
  if (!root || typeof io !== 'function') return;
  var slug = root.getAttribute('data-slug');
  var anonymous = root.getAttribute('data-anonymous-label');
  var fmt = window.shanhuiMoney.formatFen;
  // The reading the page shows; an older one arriving later (a first state sent after a newer
  // broadcast, or one delayed in transit) is dropped.
  var asOf = Number(root.getAttribute('data-totals-as-of')) || 0;
  var socket = io({ transports: ['websocket', 'polling'] });

  function subscribe() { socket.emit('subscribe', { campaign: slug }); }
  socket.on('connect', subscribe);

  socket.on('campaign:totals', function (t) {
    if (!t || t.slug !== slug) return;
    if (typeof t.as_of === 'number') {
      if (t.as_of < asOf) return;
      asOf = t.as_of;
    }
    root.querySelectorAll('[data-role="raised"]').forEach(function (el) { el.textContent = fmt(t.raised); });
    root.querySelectorAll('[data-role="donors"]').forEach(function (el) { el.textContent = String(t.donors); });
    root.querySelectorAll('[data-role="matched"]').forEach(function (el) { el.textContent = fmt(t.matched); });
    root.querySelectorAll('[data-role="match-remaining"]').forEach(function (el) { el.textContent = fmt(t.match_remaining); });
    var box = root.querySelector('[data-role="match"][data-state="active"]');
    if (box && t.match_remaining === 0) {
      while (box.firstChild) box.removeChild(box.firstChild);
      var p = document.createElement('p');
      p.textContent = root.getAttribute('data-used-up-label');
      box.appendChild(p);
      box.setAttribute('data-state', 'used_up');
    }
    root.querySelectorAll('[data-role="progress"]').forEach(function (el) {
      var max = Number(el.getAttribute('max')) || 1;
      el.value = Math.min(t.raised, max);
      el.textContent = Math.min(100, Math.floor((t.raised * 100) / max)) + '%';
    });
    root.setAttribute('data-updated', String(Date.now()));
  });

  socket.on('campaign:donations', function (msg) {
    if (!msg || msg.slug !== slug) return;
    var list = root.querySelector('[data-role="recent"]');
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    msg.donations.forEach(function (d) {
      var li = document.createElement('li');
      var who = document.createElement('strong');
      who.textContent = d.anonymous ? anonymous : d.display_name;
      var amount = document.createElement('span');
      amount.textContent = ' ' + fmt(d.amount);
      li.appendChild(who);
      li.appendChild(amount);
      if (d.message) {
        var q = document.createElement('q');
        q.textContent = d.message;
        li.appendChild(document.createTextNode(' '));
        li.appendChild(q);
      }
      list.appendChild(li);
    });
  });
})();
