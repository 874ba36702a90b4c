/* Console grant page: budget, committed, reserved and remaining update live from the grant's room. */
(function () {
  var root = document.getElementById('grant');
  if (!root || typeof io !== 'function') return;
  var id = Number(root.getAttribute('data-grant-id'));
  var fmt = window.shanhuiMoney.formatFen;
  var socket = io({ transports: ['websocket', 'polling'] });
  socket.on('connect', function () { socket.emit('subscribe', { grant: id }); });
  socket.on('grant:totals', function (g) {
    if (!g || g.id !== id) return;
    ['budget', 'committed', 'reserved', 'remaining'].forEach(function (k) {
      var el = root.querySelector('[data-role="' + k + '"]');
      if (el) el.textContent = fmt(g[k]);
    });
  });
})();
