import type { Knex } from 'knex';

/**
 * `donations_write_batch`: writes a batch of new pending donations and reserves their matches in
 * one statement, so a batch costs one round trip and one commit. Rows are inserted in
 * idempotency-key order (batches racing for the same keys wait for each other in one order); a
 * key already taken inserts nothing. `p_match` is matching's plan for the batch, handed on as it
 * is to `match_reserve_batch` with the ids inserted now. Returns one row per donation written
 * (`grant_id` null) and one per (donation, grant) considered by matching.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION donations_write_batch(p_rows jsonb, p_match jsonb)
    RETURNS TABLE (donation_id uuid, grant_id integer, reserved bigint) LANGUAGE plpgsql AS $$
    DECLARE v_created uuid[];
    BEGIN
      WITH ins AS (
        INSERT INTO donations (id, campaign_id, amount_minor, currency, donor_name, donor_email, donor_phone, anonymous, message, team,
                               idempotency_key, request_fingerprint, provider, created_at, user_id)
        SELECT r.id, r.campaign_id, r.amount_minor, r.currency, r.donor_name, r.donor_email, r.donor_phone, r.anonymous, r.message, r.team,
               r.idempotency_key, r.request_fingerprint, r.provider, r.created_at, r.user_id
          FROM jsonb_populate_recordset(NULL::donations, p_rows) AS r
         ORDER BY r.idempotency_key
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id)
      SELECT coalesce(array_agg(id), '{}') INTO v_created FROM ins;

      RETURN QUERY SELECT x, NULL::integer, NULL::bigint FROM unnest(v_created) AS x;
      IF p_match IS NOT NULL AND cardinality(v_created) > 0 THEN
        RETURN QUERY SELECT m.donation_id, m.grant_id, m.reserved FROM match_reserve_batch(p_match, v_created) AS m;
      END IF;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION donations_write_batch(jsonb, jsonb)');
}
