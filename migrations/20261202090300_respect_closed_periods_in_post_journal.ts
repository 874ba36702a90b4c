import type { Knex } from 'knex';

/**
 * `ledger_post_journal`, same contract, and closed periods respected: a journal dated into a
 * closed month (a late webhook, say) is posted at the current time, in the open period, with its
 * own date kept in `refs.dated`. The trigger ledger_journals_open_period rejects any other
 * attempt to post into a closed period.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION ledger_post_journal(
      p_key text, p_kind text, p_effective_at timestamptz, p_memo text,
      p_donation_id uuid, p_refs jsonb, p_entries jsonb
    ) RETURNS TABLE (journal_id bigint, replayed boolean) LANGUAGE plpgsql AS $$
    DECLARE
      v_id bigint;
      v_ids bigint[];
      v_amounts bigint[];
      v_stored jsonb;
      v_given jsonb;
      v_acct record;
      v_at timestamptz := p_effective_at;
      v_refs jsonb := coalesce(p_refs, '{}'::jsonb);
      i integer;
    BEGIN
      -- A journal dated into a closed period is posted now, in the open period, and keeps its date in refs.
      IF EXISTS (SELECT 1 FROM ledger_periods WHERE p_effective_at >= starts_at AND p_effective_at < ends_at) THEN
        v_at := now();
        v_refs := v_refs || jsonb_build_object('dated', p_effective_at);
      END IF;
      SELECT array_agg((e->>'account_id')::bigint ORDER BY n), array_agg((e->>'amount')::bigint ORDER BY n)
        INTO v_ids, v_amounts FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS t(e, n);
      IF (SELECT count(*) FROM ledger_accounts WHERE id = ANY(v_ids)) <> cardinality(v_ids) THEN
        RAISE EXCEPTION 'journal % names an unknown ledger account', p_key USING ERRCODE = 'foreign_key_violation';
      END IF;

      INSERT INTO ledger_journals (idempotency_key, kind, effective_at, memo, donation_id, refs)
      VALUES (p_key, p_kind, v_at, p_memo, p_donation_id, v_refs)
      ON CONFLICT (idempotency_key) DO NOTHING
      RETURNING id INTO v_id;

      IF v_id IS NULL THEN
        SELECT jsonb_agg(jsonb_build_array(x.account_id, x.amount) ORDER BY x.account_id)
          INTO v_given FROM unnest(v_ids, v_amounts) AS x(account_id, amount);
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

      -- One global lock order: (lock_rank, id), hot accounts last; derived accounts are not locked.
      PERFORM 1 FROM ledger_accounts a WHERE a.id = ANY(v_ids) AND a.tracks_balance ORDER BY a.lock_rank, a.id FOR UPDATE;

      FOR i IN 1 .. cardinality(v_ids) LOOP
        UPDATE ledger_accounts a
           SET balance = a.balance + CASE WHEN a.normal_balance = 'debit' THEN v_amounts[i] ELSE -v_amounts[i] END,
               version = a.version + 1
         WHERE a.id = v_ids[i] AND a.tracks_balance
        RETURNING a.currency, a.balance, a.version INTO v_acct;
        IF NOT FOUND THEN
          SELECT a.currency, NULL::bigint AS balance, NULL::bigint AS version INTO v_acct FROM ledger_accounts a WHERE a.id = v_ids[i];
        END IF;
        INSERT INTO ledger_entries (journal_id, account_id, currency, amount, balance_after, account_version)
        VALUES (v_id, v_ids[i], v_acct.currency, v_amounts[i], v_acct.balance, v_acct.version);
      END LOOP;

      PERFORM ledger_assert_journal_balanced(v_id);
      RETURN QUERY SELECT v_id, false;
    END $$;
  `);
}

export async function down(): Promise<void> {
  // The previous body lives in 20261125090100_index_ledger_post_journal; re-running that migration restores it.
}
