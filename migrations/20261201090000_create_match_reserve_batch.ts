import type { Knex } from 'knex';

/**
 * `match_reserve_batch`: reserves the matches of a batch of new donations in one round trip,
 * replacing the one-donation `match_reserve`. Donations created at the same moment are written
 * together (group commit), so a hot pool row is locked once per batch instead of once per gift,
 * and one `match_reserve` journal per pool and batch moves the batch's total; each allocation
 * names that journal (`reserve_journal_id`) and keeps its own share in `pool_legs`.
 *
 * Lock order, the same in every transaction that touches these rows:
 *   1. cap counters of the whole batch, sorted by key (a donor identity's counter serialises
 *      every batch carrying that identity, so the velocity count sees them all);
 *   2. pools — (grant, bucket) — in the global order (priority desc, grant id, bucket), and in
 *      each pool at most one shard taken by waiting, and only while holding no shard of that
 *      pool; every further shard only with SKIP LOCKED.
 * So a transaction never waits for a shard while holding another shard of the same pool, and
 * waits across pools only forwards in the global order: no cycle (deadlock) can form. A row
 * PostgreSQL locked and then skipped (its re-check failed) could break this; every attempt that
 * can leave such a lock behind before a wait runs in a subtransaction that is rolled back.
 *
 * Never overspent: shard balances are ledger accounts with CHECK (balance >= 0), moved only by
 * `ledger_post_journal`, and the batch only hands out what the shards it holds locked contain.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE match_allocations ADD COLUMN reserve_journal_id bigint REFERENCES ledger_journals(id);
    UPDATE match_allocations m SET reserve_journal_id = j.id
      FROM ledger_journals j WHERE j.idempotency_key = 'match-reserve:' || m.donation_id || ':' || m.grant_id AND m.reserved_minor > 0;
    ALTER TABLE match_allocations ADD CONSTRAINT match_allocations_reserve_journal
      CHECK ((reserve_journal_id IS NOT NULL) = (reserved_minor > 0));
    CREATE INDEX match_allocations_reserve_journal ON match_allocations (reserve_journal_id) WHERE reserve_journal_id IS NOT NULL;

    ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_donation_required;
    ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_donation_required
      CHECK (kind NOT IN ('donation','refund','processor_fee','dispute','match_commit','match_release','match_clawback') OR donation_id IS NOT NULL);

    DROP FUNCTION match_reserve(uuid, timestamptz, jsonb);

    -- M-10 / M-12: why a donation's match must wait for staff, if at all. The velocity count takes
    -- every gift recorded in the window, also one stamped a moment later that was recorded first.
    CREATE FUNCTION match_hold_reason(p_campaign integer, p_identities text[], p_at timestamptz, p_limit integer, p_window interval)
    RETURNS text LANGUAGE sql STABLE AS $$
      SELECT CASE
        WHEN cardinality(p_identities) = 0 THEN NULL
        WHEN EXISTS (SELECT 1 FROM campaign_linked_identities l WHERE l.campaign_id = p_campaign AND l.identity = ANY(p_identities)) THEN 'linked_party'
        WHEN EXISTS (SELECT 1 FROM donor_identities i
                      WHERE i.identity = ANY(p_identities) AND i.created_at > p_at - p_window
                      GROUP BY i.identity HAVING count(DISTINCT i.donation_id) > p_limit) THEN 'velocity'
      END
    $$;

    -- p_plan (matching's, built in TypeScript): {batch, velocity_limit, velocity_window,
    --   pools: [{grant_id, bucket, reserved_account}] in the global order,
    --   items: [{donation_id, campaign_id, organisation_id, at, identities: [{identity, kind}], claims: [{grant_id, bucket,
    --           desired, partial, exclusive, counters: [{key, cap, reason}], rule_version, reason, draw, inputs, expires_at}]}]
    -- p_created: the donations of the batch that were inserted now (a replayed key reserves nothing).
    CREATE FUNCTION match_reserve_batch(p_plan jsonb, p_created uuid[])
    RETURNS TABLE (donation_id uuid, grant_id integer, reserved bigint, reason text) LANGUAGE plpgsql AS $$
    DECLARE
      v_items jsonb[];
      v_n integer;
      v_hold text[];
      v_sanctioned uuid[];
      v_excl boolean[];
      v_keys text[];
      p jsonb;
      c jsonb;
      k jsonb;
      i integer;
      j integer;
      v_grant integer;
      v_bucket text;
      v_status text;
      v_starts timestamptz;
      v_ends timestamptz;
      v_at timestamptz;
      v_want bigint;
      v_got bigint;
      v_take bigint;
      v_room bigint;
      v_reason text;
      v_held bigint[];   -- shards of this pool the transaction holds locked
      v_bal bigint[];    -- what each still has for this batch
      v_sum bigint[];    -- what the batch took from each
      v_part bigint[];   -- this gift's take from each
      v_legs jsonb;
      v_rows jsonb;
      v_total bigint;
      v_journal bigint;
      v_shard record;
      v_found boolean;
      v_candidate bigint;
    BEGIN
      SELECT array_agg(t.value ORDER BY t.n) INTO v_items FROM jsonb_array_elements(p_plan->'items') WITH ORDINALITY AS t(value, n)
       WHERE (t.value->>'donation_id')::uuid = ANY(p_created);
      v_n := coalesce(cardinality(v_items), 0);
      IF v_n = 0 THEN RETURN; END IF;

      -- 1. Every cap counter of the batch, locked once, sorted by key. Each donor identity has a
      --    counter (the per-donor daily cap), so batches carrying one identity run one after
      --    the other from here, and each sees the other's gifts in the velocity count below.
      SELECT coalesce(array_agg(DISTINCT x->>'key' ORDER BY x->>'key'), '{}') INTO v_keys
        FROM unnest(v_items) AS it, jsonb_array_elements(it->'claims') AS cl, jsonb_array_elements(cl->'counters') AS x;
      IF cardinality(v_keys) > 0 THEN
        INSERT INTO match_counters (key) SELECT unnest(v_keys) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM match_counters m WHERE m.key = ANY(v_keys) ORDER BY m.key FOR UPDATE;
      END IF;

      -- M-13: a sanctioned organisation's campaigns get no match.
      v_sanctioned := ARRAY(SELECT (t.it->>'donation_id')::uuid FROM unnest(v_items) AS t(it)
                             JOIN organisations o ON o.id = (t.it->>'organisation_id')::integer WHERE o.sanctioned_at IS NOT NULL);

      -- 2. Risk holds, gift by gift in batch order: each gift's identities are recorded, then
      --    counted with every gift recorded before it (this batch's earlier ones included).
      v_hold := array_fill(NULL::text, ARRAY[v_n]);
      v_excl := array_fill(false, ARRAY[v_n]);
      FOR i IN 1 .. v_n LOOP
        CONTINUE WHEN jsonb_array_length(v_items[i]->'identities') = 0;
        INSERT INTO donor_identities (donation_id, identity, kind, created_at)
        SELECT (v_items[i]->>'donation_id')::uuid, x->>'identity', x->>'kind', (v_items[i]->>'at')::timestamptz
          FROM jsonb_array_elements(v_items[i]->'identities') AS x
        ON CONFLICT DO NOTHING;
        v_hold[i] := match_hold_reason((v_items[i]->>'campaign_id')::integer,
                       ARRAY(SELECT x->>'identity' FROM jsonb_array_elements(v_items[i]->'identities') x),
                       (v_items[i]->>'at')::timestamptz, (p_plan->>'velocity_limit')::integer, (p_plan->>'velocity_window')::interval);
      END LOOP;

      -- 3. Pool by pool in the global order; in each pool, gift by gift in batch order.
      FOR p IN SELECT value FROM jsonb_array_elements(p_plan->'pools') LOOP
        v_grant := (p->>'grant_id')::integer;
        v_bucket := p->>'bucket';
        SELECT g.status, g.starts_at, g.ends_at INTO v_status, v_starts, v_ends FROM grants g WHERE g.id = v_grant;
        v_held := '{}'; v_bal := '{}'; v_sum := '{}'; v_rows := '[]'; v_total := 0; v_journal := NULL;

        FOR c, i IN SELECT cl, t.n FROM unnest(v_items) WITH ORDINALITY AS t(it, n), jsonb_array_elements(t.it->'claims') AS cl
                     WHERE (cl->>'grant_id')::integer = v_grant AND cl->>'bucket' = v_bucket ORDER BY t.n LOOP
          v_at := (v_items[i]->>'at')::timestamptz;
          v_want := (c->>'desired')::bigint;
          v_reason := c->>'reason';
          IF (v_items[i]->>'donation_id')::uuid = ANY(v_sanctioned) THEN v_reason := 'organisation_sanctioned'; END IF;
          v_got := 0;
          v_part := array_fill(0::bigint, ARRAY[cardinality(v_held)]);

          IF v_reason IS NULL AND v_excl[i] THEN v_reason := 'excluded_by_exclusive_grant'; END IF;
          IF v_reason IS NULL AND (v_status IS DISTINCT FROM 'active' OR v_at < v_starts OR v_at >= v_ends) THEN
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
            LOOP
              -- What the shards already held have left for this batch.
              FOR j IN 1 .. cardinality(v_held) LOOP
                EXIT WHEN v_got >= v_want;
                v_take := least(v_bal[j] - v_part[j], v_want - v_got);
                IF v_take > 0 THEN v_part[j] := v_part[j] + v_take; v_got := v_got + v_take; END IF;
              END LOOP;
              EXIT WHEN v_got >= v_want;
              -- Another shard: once one is held, only idle ones (SKIP LOCKED), never waiting.
              IF cardinality(v_held) > 0 THEN
                SELECT * INTO v_shard FROM match_take_shard(v_grant, v_bucket, 1, v_held);
                EXIT WHEN NOT FOUND;
              ELSE
                -- None held yet: an idle shard that covers the whole match, else any idle one
                -- with money, in a subtransaction so a row locked but skipped is let go.
                v_found := false;
                BEGIN
                  SELECT * INTO v_shard FROM match_take_shard(v_grant, v_bucket, v_want, v_held);
                  IF NOT FOUND THEN SELECT * INTO v_shard FROM match_take_shard(v_grant, v_bucket, 1, v_held); END IF;
                  IF NOT FOUND THEN RAISE EXCEPTION USING ERRCODE = 'SH001'; END IF;
                  v_found := true;
                EXCEPTION WHEN SQLSTATE 'SH001' THEN v_found := false;
                END;
                -- Every shard with money is busy: wait for the richest, one at a time, each wait
                -- in its own subtransaction so a shard found empty is let go before the next.
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
                EXIT WHEN NOT v_found;
              END IF;
              v_held := v_held || v_shard.account_id;
              v_bal := v_bal || v_shard.balance;
              v_sum := v_sum || 0::bigint;
              v_part := v_part || 0::bigint;
            END LOOP;
            IF v_got < v_want AND NOT (c->>'partial')::boolean THEN v_got := 0; END IF;
            IF v_got = 0 THEN v_reason := 'pool_exhausted'; END IF;
          END IF;

          v_legs := '[]';
          IF v_got > 0 THEN
            FOR j IN 1 .. cardinality(v_held) LOOP
              IF v_part[j] > 0 THEN
                v_bal[j] := v_bal[j] - v_part[j];
                v_sum[j] := v_sum[j] + v_part[j];
                v_legs := v_legs || jsonb_build_object('account_id', v_held[j], 'amount', v_part[j]);
              END IF;
            END LOOP;
            IF jsonb_array_length(c->'counters') > 0 THEN
              UPDATE match_counters m SET amount_minor = m.amount_minor + v_got
               WHERE m.key IN (SELECT x->>'key' FROM jsonb_array_elements(c->'counters') x);
            END IF;
            IF coalesce((c->>'exclusive')::boolean, false) THEN v_excl[i] := true; END IF;
            v_total := v_total + v_got;
          END IF;

          v_rows := v_rows || jsonb_build_object(
            'donation_id', v_items[i]->>'donation_id', 'rule_version', c->'rule_version',
            'status', CASE WHEN v_got > 0 THEN 'reserved' ELSE 'zero' END,
            'desired_minor', c->'desired', 'reserved_minor', v_got,
            'reason', CASE WHEN v_got > 0 AND v_got < (c->>'desired')::bigint THEN coalesce(v_reason, 'partial') ELSE v_reason END,
            'hold_reason', v_hold[i], 'draw', c->'draw', 'inputs', coalesce(c->'inputs', '{}'::jsonb), 'pool_legs', v_legs,
            'counter_keys', CASE WHEN v_got > 0 THEN (SELECT coalesce(jsonb_agg(x->'key'), '[]') FROM jsonb_array_elements(c->'counters') x) ELSE '[]'::jsonb END,
            'reserved_at', v_at, 'expires_at', c->'expires_at');
          donation_id := (v_items[i]->>'donation_id')::uuid; grant_id := v_grant; reserved := v_got;
          reason := CASE WHEN v_got > 0 AND v_got < (c->>'desired')::bigint THEN coalesce(v_reason, 'partial') ELSE v_reason END;
          RETURN NEXT;
        END LOOP;

        IF v_total > 0 THEN
          SELECT r.journal_id INTO v_journal FROM ledger_post_journal(
            'match-reserve:' || (p_plan->>'batch') || ':' || v_grant || ':' || v_bucket, 'match_reserve', now(), NULL, NULL,
            jsonb_build_object('grant_id', v_grant, 'bucket', v_bucket, 'batch', p_plan->>'batch'),
            (SELECT jsonb_agg(jsonb_build_object('account_id', x.id, 'amount', x.took)) FROM unnest(v_held, v_sum) AS x(id, took) WHERE x.took > 0)
              || jsonb_build_array(jsonb_build_object('account_id', (p->>'reserved_account')::bigint, 'amount', -v_total))) AS r;
        END IF;

        INSERT INTO match_allocations (donation_id, grant_id, rule_version, status, desired_minor, reserved_minor, reason, hold_reason,
                                       draw, inputs, pool_legs, counter_keys, reserved_at, expires_at, reserve_journal_id)
        SELECT r.donation_id, v_grant, r.rule_version, r.status, r.desired_minor, r.reserved_minor, r.reason, r.hold_reason,
               r.draw, r.inputs, r.pool_legs, r.counter_keys, r.reserved_at, r.expires_at,
               CASE WHEN r.reserved_minor > 0 THEN v_journal END
          FROM jsonb_to_recordset(v_rows) AS r(donation_id uuid, rule_version integer, status text, desired_minor bigint, reserved_minor bigint,
               reason text, hold_reason text, draw jsonb, inputs jsonb, pool_legs jsonb, counter_keys text[], reserved_at timestamptz, expires_at timestamptz);
      END LOOP;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP FUNCTION match_reserve_batch(jsonb, uuid[]);
    DROP FUNCTION match_hold_reason(integer, text[], timestamptz, integer, interval);
    ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_donation_required;
    ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_donation_required
      CHECK (kind NOT IN ('donation','refund','processor_fee','dispute','match_reserve','match_commit','match_release','match_clawback') OR donation_id IS NOT NULL);
    ALTER TABLE match_allocations DROP COLUMN reserve_journal_id;
  `);
  // match_reserve itself is restored by re-running 20261124090100_create_match_reserve.
}
