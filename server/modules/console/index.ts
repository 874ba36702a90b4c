import { Router } from 'express';
import type { Container } from '../../container.js';
import { requireStaff } from '../../http/middleware/auth.js';
import { approvalsConsole } from './approvals.console.js';
import { callsConsole } from './calls.console.js';
import { campaignsConsole } from './campaigns.console.js';
import { dashboardPages } from './dashboard.js';
import { donationsConsole } from './donations.console.js';
import { eventsConsole } from './events.console.js';
import { financeConsole } from './finance.console.js';
import { fundsConsole } from './funds.console.js';
import { geoConsole } from './geo.console.js';
import { grantsConsole } from './grants.console.js';
import { moneyConsole } from './money.console.js';
import { orgConsole } from './org.console.js';
import { organisationsConsole } from './organisations.console.js';
import { reviewsConsole } from './reviews.console.js';
import { peopleConsole } from './people.console.js';

/** Every staff console page, behind sign-in (and TOTP for admin and finance). */
export function consolePages(c: Container): Router {
  const r = Router();
  r.use('/console', requireStaff);
  for (const part of [dashboardPages, campaignsConsole, grantsConsole, donationsConsole, approvalsConsole, peopleConsole, geoConsole, financeConsole, eventsConsole, moneyConsole, fundsConsole, callsConsole, organisationsConsole, orgConsole, reviewsConsole]) r.use(part(c));
  return r;
}
