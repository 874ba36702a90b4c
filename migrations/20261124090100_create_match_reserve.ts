import type { Knex } from 'knex';

/**
 * `match_reserve`: reserves a donation's match from each grant's pool in one round trip.
 *
 * `p_claims` lists, in the global grant order (priority desc, id asc), what the rules engine
 * wants from each grant: `{grant_id, bucket, desired, partial, exclusive, reserved_account,
 * counters: [{key, cap, reason}], rule_version, reason, hold_reason, draw, inputs, expires_at}`.
 * A grant marked exclusive that reserves anything stops the grants after it from matching.
 *
 * Lock order, the same in every transaction that touches these rows:
 *   1. cap counters, sorted by key;
 *   2. per grant (in claim order), at most one pool shard taken by waiting, and only while
 *      holding no shard of that grant; further shards of the same grant only with SKIP LOCKED.
 * A transaction therefore never waits for a shard while holding another shard of the same
 * grant, and waits across grants only upwards in grant order, so no cycle (deadlock) can form.
 * PostgreSQL may keep a lock on a row it locked and then skipped (a changed row re-checked
 * after the lock); every attempt that can leave such a lock behind runs in a subtransaction
 * that is rolled back, releasing it, before any wait.
 *
 * The pool is never overspent: shard balances are ledger accounts with
 * CHECK (balance >= 0), moved only through `ledger_post_journal` under the row lock.
 * Every outcome, zero included, is recorded once in `match_allocations` (UNIQUE per donation
 * and grant), so a retry gets the same answer even after a top-up.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION match_take_shard(p_grant integer, p_bucket text, p_min bigint, p_exclude bigint[])
    RETURNS TABLE (account_id bigint, balance bigint) LANGUAGE sql AS $$
      SELECT a.id, a.balance FROM grant_pool_shards s JOIN ledger_accounts a ON a.id = s.account_id
       WHERE s.grant_id = p_grant AND s.bucket = p_bucket AND a.balance >= p_min AND a.id <> ALL(p_exclude)
       ORDER BY random() LIMIT 1 FOR UPDATE OF a SKIP LOCKED;
    $$;

    CREATE FUNCTION match_reserve(p_donation uuid, p_at timestamptz, p_claims jsonb)
    RETURNS TABLE (grant_id integer, reserved bigint, reason text, allocation_id bigint) LANGUAGE plpgsql AS $$
    DECLARE
      c jsonb;
      k jsonb;
      v_grant integer;
      v_bucket text;
      v_status text;
      v_starts timestamptz;
      v_ends timestamptz;
      v_want bigint;
      v_got bigint;
      v_take bigint;
      v_reason text;
      v_room bigint;
      v_legs jsonb;
      v_taken bigint[];
      v_shard record;
      v_found boolean;
      v_candidate bigint;
      v_keys text[];
      v_alloc bigint;
      v_exclusive_hit boolean := false;
    BEGIN
      SELECT coalesce(array_agg(DISTINCT x->>'key' ORDER BY x->>'key'), '{}') INTO v_keys
        FROM jsonb_array_elements(p_claims) cl, jsonb_array_elements(cl->'counters') x;
      IF cardinality(v_keys) > 0 THEN
        INSERT INTO match_counters (key) SELECT unnest(v_keys) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM match_counters m WHERE m.key = ANY(v_keys) ORDER BY m.key FOR UPDATE;
      END IF;

      FOR c IN SELECT value FROM jsonb_array_elements(p_claims) LOOP
        v_grant := (c->>'grant_id')::integer;
        v_bucket := c->>'bucket';
        v_want := (c->>'desired')::bigint;
        v_reason := c->>'reason';
        v_got := 0;
        v_legs := '[]'::jsonb;
        v_taken := '{}';

        IF v_reason IS NULL AND v_exclusive_hit THEN v_reason := 'excluded_by_exclusive_grant'; END IF;
        SELECT g.status, g.starts_at, g.ends_at INTO v_status, v_starts, v_ends FROM grants g WHERE g.id = v_grant;
        IF v_reason IS NULL AND (v_status IS DISTINCT FROM 'active' OR p_at < v_starts OR p_at >= v_ends) THEN
          v_reason := 'grant_inactive';
        END IF;

        IF v_reason IS NULL THEN
          FOR k IN SELECT value FROM jsonb_array_elements(c->'counters') LOOP
            SELECT (k->>'cap')::bigint - m.amount_minor INTO v_room FROM match_counters m WHERE m.key = k->>'key';
            IF v_room < v_want THEN
              v_want := greatest(v_room, 0);
              IF v_want = 0 THEN v_reason := coalesce(k->>'reason', 'cap_reached'); EXIT; END IF;
              IF NOT (c->>'partial')::boolean THEN v_want := 0; v_reason := coalesce(k->>'reason', 'cap_reached'); EXIT; END IF;
            END IF;
          END LOOP;
        END IF;

        IF v_reason IS NULL AND v_want > 0 THEN
          -- 1. Without waiting: an idle shard that covers the whole match, else any idle shard
          --    with money. Inside a subtransaction, so a row locked but skipped (PostgreSQL
          --    re-checks a changed row after locking it) is let go when nothing is found.
          v_found := false;
          BEGIN
            SELECT * INTO v_shard FROM match_take_shard(v_grant, v_bucket, v_want, v_taken);
            IF NOT FOUND THEN SELECT * INTO v_shard FROM match_take_shard(v_grant, v_bucket, 1, v_taken); END IF;
            IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'SH001'; END IF;
            v_found := true;
          EXCEPTION WHEN SQLSTATE 'SH001' THEN v_found := false;
          END;
          -- 2. Every shard with money is busy: wait for the richest, holding none of this grant's
          --    shards. One row at a time, each wait in its own subtransaction, so a shard found
          --    empty after the wait is let go before waiting for the next.
          WHILE NOT v_found LOOP
            SELECT a.id INTO v_candidate FROM grant_pool_shards s JOIN ledger_accounts a ON a.id = s.account_id
             WHERE s.grant_id = v_grant AND s.bucket = v_bucket AND a.balance > 0 ORDER BY a.balance DESC LIMIT 1;
            EXIT WHEN v_candidate IS NULL;
            BEGIN
              SELECT a.id AS account_id, a.balance INTO v_shard FROM ledger_accounts a WHERE a.id = v_candidate FOR UPDATE;
              IF v_shard.balance <= 0 THEN RAISE EXCEPTION USING ERRCODE = 'SH001'; END IF;
              v_found := true;
            EXCEPTION WHEN SQLSTATE 'SH001' THEN v_found := false;
            END;
          END LOOP;
          -- 3. Take from the shard held; top up from other idle shards, never waiting again.
          WHILE v_found LOOP
            v_take := least(v_shard.balance, v_want - v_got);
            v_legs := v_legs || jsonb_build_object('account_id', v_shard.account_id, 'amount', v_take);
            v_taken := v_taken || v_shard.account_id;
            v_got := v_got + v_take;
            EXIT WHEN v_got >= v_want;
            SELECT * INTO v_shard FROM match_take_shard(v_grant, v_bucket, 1, v_taken);
            v_found := FOUND;
          END LOOP;
          IF v_got < v_want AND NOT (c->>'partial')::boolean THEN
            v_got := 0;
            v_legs := '[]'::jsonb;
          END IF;
          IF v_got = 0 THEN v_reason := 'pool_exhausted'; END IF;
        END IF;

        IF v_got > 0 THEN
          PERFORM ledger_post_journal(
            'match-reserve:' || p_donation || ':' || v_grant, 'match_reserve', p_at, NULL, p_donation,
            jsonb_build_object('grant_id', v_grant, 'bucket', v_bucket),
            v_legs || jsonb_build_array(jsonb_build_object('account_id', (c->>'reserved_account')::bigint, 'amount', -v_got)));
          UPDATE match_counters m SET amount_minor = m.amount_minor + v_got
           WHERE m.key IN (SELECT x->>'key' FROM jsonb_array_elements(c->'counters') x);
          IF coalesce((c->>'exclusive')::boolean, false) THEN v_exclusive_hit := true; END IF;
        END IF;

        INSERT INTO match_allocations (donation_id, grant_id, rule_version, status, desired_minor, reserved_minor, reason, hold_reason,
                                       draw, inputs, pool_legs, counter_keys, reserved_at, expires_at)
        VALUES (p_donation, v_grant, (c->>'rule_version')::integer, CASE WHEN v_got > 0 THEN 'reserved' ELSE 'zero' END,
                (c->>'desired')::bigint, v_got, CASE WHEN v_got > 0 AND v_got < (c->>'desired')::bigint THEN coalesce(v_reason, 'partial') ELSE v_reason END,
                c->>'hold_reason', c->'draw', coalesce(c->'inputs', '{}'::jsonb), v_legs,
                CASE WHEN v_got > 0 THEN ARRAY(SELECT x->>'key' FROM jsonb_array_elements(c->'counters') x) ELSE '{}'::text[] END,
                p_at, (c->>'expires_at')::timestamptz)
        RETURNING id INTO v_alloc;

        grant_id := v_grant; reserved := v_got; reason := v_reason; allocation_id := v_alloc;
        RETURN NEXT;
      END LOOP;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION match_reserve(uuid, timestamptz, jsonb); DROP FUNCTION match_take_shard(integer, text, bigint, bigint[]);');
}
