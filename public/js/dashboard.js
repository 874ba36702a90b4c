/* Console dashboard charts (Chart.js served from our own origin); data comes from data attributes. */
(function () {
  if (typeof Chart !== 'function') return;
  function read(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    return { el: el, labels: JSON.parse(el.getAttribute('data-labels') || '[]'), values: JSON.parse(el.getAttribute('data-values') || '[]'), label: el.getAttribute('data-label') || '' };
  }
  var red = '#d7263d';
  var hours = read('chart-hours');
  if (hours) new Chart(hours.el, { type: 'bar', data: { labels: hours.labels, datasets: [{ label: hours.label, data: hours.values, backgroundColor: red }] }, options: { plugins: { legend: { display: false } } } });
  var match = read('chart-match');
  if (match) new Chart(match.el, { type: 'doughnut', data: { labels: match.labels, datasets: [{ data: match.values, backgroundColor: [red, '#f4a259', '#8cb369'] }] } });
  var top = read('chart-top');
  if (top) new Chart(top.el, { type: 'bar', data: { labels: top.labels, datasets: [{ label: top.label, data: top.values, backgroundColor: red }] }, options: { indexAxis: 'y', plugins: { legend: { display: false } } } });
})();
