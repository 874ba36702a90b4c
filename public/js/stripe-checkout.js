/* Stripe checkout: mounts the Payment Element (WeChat Pay, Alipay, card) for the donation's PaymentIntent. */
(function () {
  var form = document.getElementById('stripe-checkout');
  if (!form || typeof Stripe !== 'function') return;
  var stripe = Stripe(form.getAttribute('data-publishable-key'));
  var elements = stripe.elements({ clientSecret: form.getAttribute('data-client-secret') });
  var container = document.getElementById('payment-element');
  container.textContent = '';
  elements.create('payment').mount(container);
  var error = form.querySelector('[data-role="error"]');
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    stripe
      .confirmPayment({ elements: elements, confirmParams: { return_url: new URL(form.getAttribute('data-return-url'), location.href).href } })
      .then(function (r) { if (r.error) error.textContent = r.error.message || ''; });
  });
})();
