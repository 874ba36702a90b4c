import { Router } from 'express';
import { z } from 'zod';
import { sendCsv } from '../../http/csv.js';
import { pagination } from '../../http/schemas.js';
import type { Container } from '../../container.js';
import { processorEventsRepo, REVIEW_OUTCOMES } from '../donations/index.js';
import { allow, csvHref, pagerLinks } from './console-helpers.js';

const Filters = z.object({ outcome: z.enum(REVIEW_OUTCOMES as [string, ...string[]]).optional().catch(undefined), ...pagination });
const COLUMNS = ['received_at', 'id', 'type', 'outcome', 'donation_id', 'payment_intent', 'amount_minor', 'currency'];

/**
 * Processor events that were refused (they named another payment, or amounts that do not fit)
 * or parked (their text cannot be stored): signed, so from the processor, yet never applied.
 * Finance looks at each here; nothing on this page changes money.
 */
export function eventsConsole(c: Container): Router {
  const r = Router();

  r.get(['/console/finance/events', '/console/finance/events.csv'], async (req, res) => {
    allow(req, 'reconciliation.read');
    const f = Filters.parse(req.query);
    if (req.path.endsWith('.csv')) {
      const { rows } = await processorEventsRepo.listForReview(c.db, f, 1, 10_000);
      return sendCsv(res, 'processor-events.csv', COLUMNS.map((k) => ({ key: k, label: k })), rows as unknown as Record<string, unknown>[]);
    }
    const { rows, total } = await processorEventsRepo.listForReview(c.db, f, f.page, f.per_page);
    res.render('console/events', {
      title: req.t('finance.events'), events: rows, outcomes: REVIEW_OUTCOMES, filters: { outcome: f.outcome ?? '' }, pager: pagerLinks(req, f.page, f.per_page, total), csv: csvHref(req),
    });
  });

  return r;
}
