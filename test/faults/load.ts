import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { events, refundId, type Paid, type StripeEvent } from './fixtures.js';
import type { Rng } from './random.js';
import type { Stack } from './stack.js';

/**
 * Continuous load: donors giving through the API and a Stripe that delivers (and redelivers)
 * each donation's events, with the model of every donation's final state.
 */

// ------------------------------------------------------------------ continuous load: donors and Stripe

export type Fate = 'paid' | 'failed' | 'failed_then_paid' | 'paid_refunded' | 'paid_disputed' | 'abandoned';

export interface Gift extends Paid {
  fate: Fate;
  refunded: number;
  disputed: number;
}

export interface LoadOptions {
  campaigns: { slug: string }[];
  /** Donors giving at once (each gives, then gives again). */
  donors: number;
  /** Webhook deliveries in flight. */
  inFlight: number;
  /** Stop after this many donations (else when `stop()` is called). */
  total?: number;
  /** Share of each fate (the rest is `paid`). */
  fates?: Partial<Record<Exclude<Fate, 'paid'>, number>>;
  /** Chance that an event is delivered more than once (then 2–3 times). */
  duplicates?: number;
  /** Donors with an email (identities and per-donor caps are then exercised). */
  emails?: number;
  amount?: [number, number];
  /** How long a donor keeps retrying a create that got 503 or no answer (same Idempotency-Key). */
  retryMs?: number;
  /** Shuffle window: a delivery waits up to this long before its first attempt, so events overtake each other. */
  jitterMs?: number;
}

/**
 * Donors giving continuously through the API, and a Stripe that delivers each donation's events
 * (some more than once, in random order) and redelivers any that are not answered 2xx, with
 * backoff, as Stripe does. Keeps the model of what every donation's final state must be.
 */
export class Load {
  readonly gifts: Gift[] = [];
  createNoAnswer = 0;
  createErrors: string[] = [];
  createRetried = 0;
  deliveries = 0;
  refused = 0;
  distinctEvents = 0;
  lost: string[] = [];
  private stopping = false;
  private lanesDone?: Promise<unknown>;
  private bag: { evt: StripeEvent; notBefore: number; attempt: number; firstAt: number }[] = [];
  private deliverers?: Promise<unknown>;
  private started = 0;
  private createdAt: number[] = [];

  constructor(readonly stack: Stack, readonly r: Rng, readonly opts: LoadOptions) {
    stack.loads.push(this);
  }

  /** Stops everything at once (a scenario that failed half-way). */
  abort(): void {
    this.stopping = true;
    this.drained = true;
    this.bag.length = 0;
  }

  start(): void {
    const t0 = Date.now();
    this.started = t0;
    this.lanesDone = Promise.all(Array.from({ length: this.opts.donors }, () => this.donor()));
    this.deliverers = Promise.all(Array.from({ length: this.opts.inFlight }, () => this.deliverer()));
  }

  /** Resolves when `total` donations have been made (when a total was given). */
  async done(): Promise<void> {
    await this.lanesDone;
  }

  /** Stops giving, then waits until every event has been accepted (or `giveUpMs`). */
  async stop(giveUpMs = 120_000): Promise<void> {
    this.stopping = true;
    await this.lanesDone;
    const deadline = Date.now() + giveUpMs;
    while (this.bag.length && Date.now() < deadline) await sleep(100);
    this.lost = this.bag.map((b) => `${b.evt.type} ${b.evt.id}`);
    this.bag.length = 0;
    this.drained = true;
    await this.deliverers;
  }
  private drained = false;

  private push(evt: StripeEvent): void {
    this.distinctEvents++;
    const copies = this.r.chance(this.opts.duplicates ?? 0) ? this.r.int(2, 3) : 1;
    for (let i = 0; i < copies; i++) this.bag.push({ evt, notBefore: Date.now() + this.r.int(0, this.opts.jitterMs ?? 300), attempt: 0, firstAt: Date.now() });
  }

  private async deliverer(): Promise<void> {
    while (!this.drained) {
      const now = Date.now();
      const ready = this.bag.filter((b) => b.notBefore <= now);
      if (!ready.length) {
        await sleep(20);
        continue;
      }
      const item = ready[Math.floor(this.r.next() * ready.length)];
      this.bag.splice(this.bag.indexOf(item), 1);
      item.attempt++;
      this.deliveries++;
      const res = await this.stack.deliver(item.evt);
      if (res.status < 200 || res.status >= 300) {
        this.refused++;
        item.notBefore = Date.now() + Math.min(500 * 2 ** (item.attempt - 1), 4000);
        this.bag.push(item);
      }
    }
  }

  private pickFate(): Fate {
    let roll = this.r.next();
    for (const [fate, p] of Object.entries(this.opts.fates ?? {}) as [Fate, number][]) {
      if (roll < p) return fate;
      roll -= p;
    }
    return 'paid';
  }

  private async donor(): Promise<void> {
    const [lo, hi] = this.opts.amount ?? [100, 20_000];
    while (!this.stopping && (this.opts.total === undefined || this.gifts.length + this.inFlightCreates < this.opts.total)) {
      this.inFlightCreates++;
      const i = this.createdAt.length + this.inFlightCreates;
      const slug = this.r.pick(this.opts.campaigns).slug;
      const amount = this.r.int(lo, hi);
      const donor = this.r.chance(this.opts.emails ?? 0) ? { name: `捐赠人${i}`, email: `donor-${randomUUID()}@faults.test` } : {};
      let g: Awaited<ReturnType<Stack['give']>>;
      try {
        g = await this.stack.give(slug, amount, donor, { retryMs: this.opts.retryMs ?? 0 });
      } catch (err) {
        if (this.createErrors.length < 20) this.createErrors.push((err as Error).message.slice(0, 200));
        this.inFlightCreates--;
        await sleep(100);
        continue;
      }
      this.inFlightCreates--;
      if (!g) {
        this.createNoAnswer++;
        continue;
      }
      if (g.attempts > 1) this.createRetried++;
      this.createdAt.push(Date.now());
      const fate = this.pickFate();
      // The charge the events name (the suite's own id: looking the sandbox's up would cost a query per gift).
      const gift: Gift = { id: g.id, amount, paymentRef: g.paymentRef, chargeId: `ch_fault_${g.id.replace(/-/g, '')}`, slug, fate, refunded: 0, disputed: 0 };
      this.gifts.push(gift);
      this.eventsOf(gift);
    }
  }
  private inFlightCreates = 0;

  /** Queues a gift's events as its fate says. */
  eventsOf(g: Gift): void {
    switch (g.fate) {
      case 'paid':
        this.push(events.succeeded(g));
        break;
      case 'failed':
        this.push(events.failed(g));
        break;
      case 'failed_then_paid':
        this.push(events.failed(g));
        this.push(events.succeeded(g));
        break;
      case 'paid_refunded': {
        g.refunded = this.r.chance(0.5) ? g.amount : this.r.int(1, g.amount - 1);
        this.push(events.succeeded(g));
        this.push(events.refunded(g, [{ id: refundId(), amount: g.refunded }]));
        break;
      }
      case 'paid_disputed':
        g.disputed = this.r.int(1, g.amount);
        this.push(events.succeeded(g));
        this.push(events.dispute(g, g.disputed));
        break;
      case 'abandoned':
        break;
    }
  }

  /** Raised per campaign as the model has it. */
  expected(): Map<string, number> {
    const out = new Map<string, number>();
    for (const g of this.gifts) {
      const paid = !['failed', 'abandoned'].includes(g.fate);
      out.set(g.slug, (out.get(g.slug) ?? 0) + (paid ? g.amount - g.refunded - g.disputed : 0));
    }
    return out;
  }

  /** Donations whose stored state differs from what their events imply. */
  async wrongStates(): Promise<string[]> {
    const wrong: string[] = [];
    for (let i = 0; i < this.gifts.length; i += 5000) {
      const chunk = this.gifts.slice(i, i + 5000);
      const rows: { id: string; status: string; refunded_minor: number; disputed_minor: number }[] = await this.stack.db('donations').whereIn('id', chunk.map((g) => g.id)).select('id', 'status', 'refunded_minor', 'disputed_minor');
      const byId = new Map(rows.map((x) => [x.id, x]));
      for (const g of chunk) {
        const row = byId.get(g.id);
        const want = g.fate === 'failed' ? 'failed' : g.fate === 'abandoned' ? 'pending' : g.fate === 'paid_refunded' ? (g.refunded === g.amount ? 'refunded' : 'partially_refunded') : 'succeeded';
        if (!row) wrong.push(`${g.id} missing`);
        else if (row.status !== want || row.refunded_minor !== g.refunded || row.disputed_minor !== g.disputed) wrong.push(`${g.id} ${g.fate}: ${row.status} refunded ${row.refunded_minor}/${g.refunded} disputed ${row.disputed_minor}/${g.disputed}`);
      }
    }
    return wrong;
  }

  fateCounts(): Record<string, number> {
    return this.gifts.reduce<Record<string, number>>((acc, g) => ({ ...acc, [g.fate]: (acc[g.fate] ?? 0) + 1 }), {});
  }

  /** Donations per second, from the start to the last donation made. */
  rate(): number {
    const s = ((this.createdAt[this.createdAt.length - 1] ?? Date.now()) - this.started) / 1000;
    return s > 0 ? this.gifts.length / s : 0;
  }

  summary(): string {
    return `${this.gifts.length} donations (${this.rate().toFixed(0)}/s; ${this.createRetried} needed a retry, ${this.createNoAnswer} gave up, ${this.createErrors.length} refused), ${this.distinctEvents} events in ${this.deliveries} deliveries (${this.refused} refused and redelivered, ${this.lost.length} never accepted)`;
  }
}
