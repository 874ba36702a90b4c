import type { Knex } from 'knex';

/**
 * `ledger_post_journal`, same contract, but every account is reached by its primary key:
 * the legs become arrays and each leg is one indexed UPDATE (or SELECT, for derived accounts)
 * and one INSERT, instead of hash joins that scanned the whole accounts table several times per
 * journal (pool shards made that table grow with every grant).
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
      i integer;
    BEGIN
      SELECT array_agg((e->>'account_id')::bigint ORDER BY n), array_agg((e->>'amount')::bigint ORDER BY n)
        INTO v_ids, v_amounts FROM jsonb_array_elements(p_entries) WITH ORDINALITY AS t(e, n);
      IF (SELECT count(*) FROM ledger_accounts WHERE id = ANY(v_ids)) <> cardinality(v_ids) THEN
        RAISE EXCEPTION 'journal % names an unknown ledger account', p_key USING ERRCODE = 'foreign_key_violation';
      END IF;

      INSERT INTO ledger_journals (idempotency_key, kind, effective_at, memo, donation_id, refs)
      VALUES (p_key, p_kind, p_effective_at, p_memo, p_donation_id, coalesce(p_refs, '{}'::jsonb))
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
  // The previous body lives in 20261123090200_create_ledger_post_journal; re-running that migration restores it.
}
