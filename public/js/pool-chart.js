/* A street pool's inflow by source, stacked per day (Chart.js from our own origin; data in data attributes). */
(function () {
  var el = document.getElementById('chart-inflow');
  if (!el || typeof Chart !== 'function') return;
  var colours = ['#d7263d', '#f4a259', '#5b8e7d'];
  var series = JSON.parse(el.getAttribute('data-series') || '[]');
  new Chart(el, {
    type: 'bar',
    data: {
      labels: JSON.parse(el.getAttribute('data-labels') || '[]'),
      datasets: series.map(function (s, i) { return { label: s[0], data: s[1], backgroundColor: colours[i % colours.length] }; }),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true } } },
  });
})();
