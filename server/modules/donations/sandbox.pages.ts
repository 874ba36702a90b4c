import express, { Router } from 'express';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../../lib/errors.js';
import { presentDonationStatus } from './donations.presenter.js';
import { DonationId } from './donations.schemas.js';
import type { DonationsService } from './donations.service.js';
import type { SandboxProvider } from './providers/sandbox.provider.js';

const Outcome = z.object({ outcome: z.enum(['succeed', 'fail']), payer: z.string().trim().max(64).optional() });

/** The sandbox's test-mode checkout: the donor picks success or failure; no money moves. */
export function sandboxPages(deps: { donations: DonationsService; sandbox: SandboxProvider }): Router {
  const r = Router();

  r.get('/sandbox/checkout/:id', async (req, res) => {
    if (!DonationId.safeParse(req.params.id).success) throw new NotFoundError('donation');
    const d = await deps.donations.get(req.params.id);
    res.render('sandbox/checkout', { title: req.t('sandbox.title'), donation: { ...presentDonationStatus(d), campaign: d.campaign_slug } });
  });

  r.post('/sandbox/checkout/:id', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    if (!DonationId.safeParse(req.params.id).success) throw new NotFoundError('donation');
    const parsed = Outcome.safeParse(req.body ?? {});
    if (!parsed.success) throw new ValidationError({ outcome: req.t('validation.invalid') });
    const d = await deps.donations.get(req.params.id);
    if (d.status === 'pending' || d.status === 'failed') await deps.sandbox.complete(d.id, parsed.data.outcome, parsed.data.payer || undefined);
    res.redirect(303, `/donations/${d.id}/thanks`);
  });

  return r;
}
