/* Thank-you page: shows the donation's status as the payment is confirmed. */
(function () {
  var root = document.getElementById('donation');
  if (!root || typeof io !== 'function') return;
  var id = root.getAttribute('data-donation-id');
  var status = root.querySelector('[data-role="status"]');
  var socket = io({ transports: ['websocket', 'polling'] });
  socket.on('connect', function () { socket.emit('subscribe', { donation: id }); });
  socket.on('donation:status', function (d) {
    if (!d || d.id !== id) return;
    var label = root.getAttribute('data-label-' + d.status);
    if (label) status.textContent = label;
    status.className = 'status status-' + d.status;
    var match = root.querySelector('[data-role="match"]');
    if (match && d.matched > 0) match.textContent = match.getAttribute('data-template').replace('{match}', window.shanhuiMoney.formatFen(d.matched));
    root.setAttribute('data-status', d.status);
  });
})();
