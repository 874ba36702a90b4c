import type { Knex } from 'knex';

/**
 * `ledger_post_journal`: the one write path for journals, in a single round trip.
 *
 * 1. Inserts the journal header; an existing idempotency key returns the stored journal
 *    (`replayed = true`) after checking it holds the same kind and legs, else raises.
 * 2. Locks the touched accounts that keep a cached balance, ordered by (lock_rank, id):
 *    one global order, hot accounts (higher rank) last, so two journals cannot deadlock.
 * 3. Moves the cached balances (the CHECK rejects a restricted account going negative).
 * 4. Inserts the entries, in the order given, with balance_after and account_version.
 * The deferred triggers re-check the balance at COMMIT.
 * `p_entries` is a JSON array of {"account_id": n, "amount": n} (positive = debit).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION ledger_post_journal(
      p_key text, p_kind text, p_effective_at timestamptz, p_memo text,
      p_donation_id uuid, p_refs jsonb, p_entries jsonb
    ) RETURNS TABLE (journal_id bigint, replayed boolean) LANGUAGE plpgsql AS $$
    DECLARE
      v_id bigint;
      v_stored jsonb;
      v_given jsonb;
    BEGIN
      INSERT INTO ledger_journals (idempotency_key, kind, effective_at, memo, donation_id, refs)
      VALUES (p_key, p_kind, p_effective_at, p_memo, p_donation_id, coalesce(p_refs, '{}'::jsonb))
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING id INTO v_id;

      SELECT jsonb_agg(jsonb_build_array(x.account_id, x.amount) ORDER BY x.account_id)
        INTO v_given FROM jsonb_to_recordset(p_entries) AS x(account_id bigint, amount bigint);

      IF EXISTS (SELECT 1 FROM jsonb_to_recordset(p_entries) AS x(account_id bigint, amount bigint)
                  LEFT JOIN ledger_accounts a ON a.id = x.account_id WHERE a.id IS NULL) THEN
        RAISE EXCEPTION 'journal % names an unknown ledger account', p_key USING ERRCODE = 'foreign_key_violation';
      END IF;

      IF v_id IS NULL THEN
        SELECT j.id, (SELECT jsonb_agg(jsonb_build_array(e.account_id, e.amount) ORDER BY e.account_id)
                        FROM ledger_entries e WHERE e.journal_id = j.id)
          INTO v_id, v_stored
          FROM ledger_journals j WHERE j.idempotency_key = p_key AND j.kind = p_kind;
        IF v_id IS NULL OR v_stored IS DISTINCT FROM v_given THEN
          RAISE EXCEPTION 'journal % was already posted with different content', p_key
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'ledger_journals_idempotency_key';
        END IF;
        RETURN QUERY SELECT v_id, true;
        RETURN;
      END IF;

      PERFORM 1 FROM ledger_accounts a
        WHERE a.tracks_balance AND a.id IN (SELECT (e->>'account_id')::bigint FROM jsonb_array_elements(p_entries) e)
        ORDER BY a.lock_rank, a.id
        FOR UPDATE;

      WITH x AS (
        SELECT (e.leg->>'account_id')::bigint AS account_id, (e.leg->>'amount')::bigint AS amount, e.n
          FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS e(leg, n)
      ), moved AS (
        UPDATE ledger_accounts a
           SET balance = a.balance + CASE WHEN a.normal_balance = 'debit' THEN x.amount ELSE -x.amount END,
               version = a.version + 1
          FROM x
         WHERE a.id = x.account_id AND a.tracks_balance
        RETURNING a.id, a.balance, a.version
      )
      INSERT INTO ledger_entries (journal_id, account_id, currency, amount, balance_after, account_version)
      SELECT v_id, x.account_id, acc.currency, x.amount, moved.balance, moved.version
        FROM x
        JOIN ledger_accounts acc ON acc.id = x.account_id
        LEFT JOIN moved ON moved.id = x.account_id
       ORDER BY x.n;

      PERFORM ledger_assert_journal_balanced(v_id);
      RETURN QUERY SELECT v_id, false;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION ledger_post_journal(text, text, timestamptz, text, uuid, jsonb, jsonb)');
}
