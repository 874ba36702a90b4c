import type { Knex } from 'knex';

/** One SQL invariant: the query returns offending rows, so an empty result means it holds. */
interface Invariant {
  name: string;
  message: string;
  sql: string;
}

/**
 * The ledger's invariants as SQL (OC's checks style). Run after every ledger test, by the
 * scheduled `run-ledger-checks` job, and served with the trial balance.
 */
export const INVARIANTS: Invariant[] = [
  {
    name: 'journals_balance',
    message: 'No journal whose entries do not sum to zero per currency',
    sql: `SELECT journal_id, currency, sum(amount)::bigint AS off_by FROM ledger_entries
           GROUP BY journal_id, currency HAVING sum(amount) <> 0`,
  },
  {
    name: 'journals_have_two_legs',
    message: 'No journal with fewer than two entries',
    sql: `SELECT j.id FROM ledger_journals j LEFT JOIN ledger_entries e ON e.journal_id = j.id
           GROUP BY j.id HAVING count(e.id) < 2`,
  },
  {
    name: 'cached_balance_matches_entries',
    message: 'No account whose cached balance differs from the sum of its entries',
    sql: `SELECT a.code, a.balance AS cached,
                 CASE WHEN a.normal_balance = 'debit' THEN 1 ELSE -1 END * coalesce(sum(e.amount), 0)::bigint AS derived
            FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
           WHERE a.tracks_balance
           GROUP BY a.id
          HAVING a.balance <> CASE WHEN a.normal_balance = 'debit' THEN 1 ELSE -1 END * coalesce(sum(e.amount), 0)`,
  },
  {
    name: 'restricted_accounts_not_negative',
    message: 'No restricted account with a negative balance',
    sql: `SELECT a.code FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id
           WHERE NOT a.allow_negative GROUP BY a.id
          HAVING CASE WHEN a.normal_balance = 'debit' THEN 1 ELSE -1 END * coalesce(sum(e.amount), 0) < 0`,
  },
  {
    name: 'succeeded_donations_have_journal',
    message: 'Every succeeded donation has exactly one donation journal of its amount',
    sql: `SELECT d.id FROM donations d
           WHERE d.succeeded_at IS NOT NULL
             AND (SELECT coalesce(sum(e.amount), 0) FROM ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id
                   WHERE j.donation_id = d.id AND j.kind = 'donation' AND e.amount > 0) <> d.amount_minor`,
  },
  {
    name: 'refunds_match_journals',
    message: "Every donation's refunded amount equals its refund journals",
    sql: `SELECT d.id FROM donations d
           WHERE d.refunded_minor <> (SELECT coalesce(sum(e.amount), 0) FROM ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id
                                       WHERE j.donation_id = d.id AND j.kind = 'refund' AND e.amount > 0)`,
  },
  {
    name: 'disputes_match_journals',
    message: "Every donation's disputed amount equals its dispute journals",
    sql: `SELECT d.id FROM donations d
           WHERE d.disputed_minor <> (SELECT coalesce(sum(e.amount), 0) FROM ledger_journals j JOIN ledger_entries e ON e.journal_id = j.id
                                       WHERE j.donation_id = d.id AND j.kind = 'dispute' AND e.amount > 0)`,
  },
  {
    name: 'reserved_match_matches_allocations',
    message: "Every grant's reserved account equals its open reservations",
    sql: `SELECT a.code FROM ledger_accounts a
           WHERE a.owner_type = 'grant' AND a.code LIKE 'grant:%:reserved:%'
             AND -(SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)
                 <> (SELECT coalesce(sum(m.reserved_minor), 0) FROM match_allocations m
                      WHERE m.grant_id = a.owner_id::integer AND m.status IN ('reserved', 'held'))`,
  },
  {
    name: 'campaign_match_matches_allocations',
    message: "Every campaign's match account equals its committed match (net of clawbacks) and close-time shares",
    sql: `SELECT a.code FROM ledger_accounts a
           WHERE a.owner_type = 'campaign' AND a.code LIKE 'campaign:%:match:%'
             AND a.balance <> (SELECT coalesce(sum(m.committed_minor - m.clawed_back_minor), 0) FROM match_allocations m
                                 JOIN donations d ON d.id = m.donation_id WHERE d.campaign_id = a.owner_id::integer AND m.release_id IS NULL)
                            + (SELECT coalesce(sum(x.amount_minor), 0) FROM match_distributions x WHERE x.campaign_id = a.owner_id::integer AND x.release_id IS NULL)`,
  },
  {
    name: 'campaign_donations_match_unreleased',
    message: "Every campaign's donations account holds its paid, unreleased donations net of refunds and disputes (plus staff adjustments)",
    sql: `SELECT a.code FROM ledger_accounts a
           WHERE a.owner_type = 'campaign' AND a.code LIKE 'campaign:%:donations:%'
             AND (SELECT -coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN ledger_journals j ON j.id = e.journal_id
                   WHERE e.account_id = a.id AND j.kind <> 'adjustment')
                 <> (SELECT coalesce(sum(d.amount_minor - d.refunded_minor - d.disputed_minor), 0) FROM donations d
                      WHERE d.campaign_id = a.owner_id::integer AND d.succeeded_at IS NOT NULL AND d.release_id IS NULL)`,
  },
  {
    name: 'pool_releases_match_rows',
    message: 'Every release into a pool moved exactly what the donations, matches and shares naming it released',
    sql: `SELECT r.id FROM pool_releases r
           WHERE r.amount_minor <> (SELECT coalesce(sum(d.released_minor), 0) FROM donations d WHERE d.release_id = r.id)
                                  + (SELECT coalesce(sum(m.released_minor), 0) FROM match_allocations m WHERE m.release_id = r.id)
                                  + (SELECT coalesce(sum(x.amount_minor), 0) FROM match_distributions x WHERE x.release_id = r.id)
              OR r.amount_minor <> (SELECT sum(e.amount) FROM ledger_entries e WHERE e.journal_id = r.journal_id AND e.amount > 0)`,
  },
  {
    name: 'payouts_have_journal',
    message: 'Every reconciled payout of a non-zero amount has its payout journal of that amount',
    sql: `SELECT p.id FROM payouts p
           WHERE p.reconciliation <> 'pending' AND p.amount_minor <> 0
             AND abs(p.amount_minor) IS DISTINCT FROM (SELECT sum(e.amount) FROM ledger_entries e JOIN ledger_journals j ON j.id = e.journal_id
                                                     WHERE j.idempotency_key = 'payout:' || p.id AND e.amount > 0)`,
  },
  {
    name: 'match_counters_match_allocations',
    message: 'Every cap counter equals the live match of the allocations it counts',
    sql: `SELECT c.key FROM match_counters c
            LEFT JOIN (SELECT k.key, sum(CASE WHEN m.status IN ('reserved', 'held') THEN m.reserved_minor
                                              ELSE m.committed_minor - m.clawed_back_minor END) AS live
                         FROM match_allocations m, unnest(m.counter_keys) AS k(key)
                        WHERE m.status <> 'released' GROUP BY k.key) x ON x.key = c.key
           WHERE c.amount_minor <> coalesce(x.live, 0)`,
  },
  {
    name: 'journals_have_business_row',
    message: 'No payment journal without its paid donation, and no match journal without its allocation',
    sql: `SELECT j.id FROM ledger_journals j LEFT JOIN donations d ON d.id = j.donation_id
           WHERE (j.kind IN ('donation', 'refund', 'processor_fee', 'dispute') AND (d.id IS NULL OR d.succeeded_at IS NULL))
              OR (j.kind = 'match_reserve' AND NOT EXISTS (SELECT 1 FROM match_allocations m WHERE m.reserve_journal_id = j.id))
              OR (j.kind LIKE 'match\\_%' AND j.kind <> 'match_reserve' AND NOT EXISTS (SELECT 1 FROM match_allocations m
                    WHERE m.donation_id = j.donation_id AND m.grant_id = (j.refs->>'grant_id')::integer))`,
  },
  {
    name: 'reserve_journals_match_allocations',
    message: 'Every match reserve journal moves exactly what the allocations naming it reserved',
    sql: `SELECT j.id FROM ledger_journals j
           WHERE j.kind = 'match_reserve'
             AND (SELECT -sum(e.amount) FROM ledger_entries e WHERE e.journal_id = j.id AND e.amount < 0)
                 IS DISTINCT FROM (SELECT sum(m.reserved_minor) FROM match_allocations m WHERE m.reserve_journal_id = j.id)`,
  },
];

export interface InvariantResult {
  name: string;
  message: string;
  ok: boolean;
  violations: unknown[];
}

/** Runs every invariant; each result lists up to 20 offending rows. */
export async function checkInvariants(db: Knex): Promise<InvariantResult[]> {
  const results: InvariantResult[] = [];
  for (const inv of INVARIANTS) {
    const { rows } = await db.raw(`SELECT * FROM (${inv.sql}) v LIMIT 20`);
    results.push({ name: inv.name, message: inv.message, ok: rows.length === 0, violations: rows });
  }
  return results;
}
