import express, { Router } from 'express';
import type { WebhookIntake } from './webhook-intake.js';

/**
 * `POST /webhooks/stripe`: the raw body is kept for signature verification. A missing or bad
 * signature is a 400 and stores nothing; a stored event is a 200; PostgreSQL down is a 503,
 * so Stripe delivers again.
 */
export function webhookRouter(deps: { intake: WebhookIntake }): Router {
  const r = Router();
  r.post('/webhooks/stripe', express.raw({ type: () => true, limit: '512kb' }), async (req, res) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const result = await deps.intake.receive(body, req.get('Stripe-Signature'));
    res.json({ received: true, id: result.id, duplicate: result.duplicate });
  });
  return r;
}
