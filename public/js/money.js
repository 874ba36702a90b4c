/* Formats integer fen as ¥1,234.50 with integer arithmetic only (mirrors server/lib/money.ts). */
(function () {
  function formatFen(fen) {
    var n = Math.trunc(Number(fen) || 0);
    var abs = Math.abs(n);
    var major = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    var minor = String(abs % 100).padStart(2, '0');
    return (n < 0 ? '-' : '') + '¥' + major + '.' + minor;
  }
  window.shanhuiMoney = { formatFen: formatFen };
})();
