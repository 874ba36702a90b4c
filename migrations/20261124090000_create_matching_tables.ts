import type { Knex } from 'knex';

/**
 * Matching grants: sponsors, organisations (for per-organisation caps and sanctions), grants
 * with scope and versioned rules, pool shards (ledger accounts), allocations (one outcome per
 * donation and grant, zero included), counters for caps, and donor identities for risk.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE sponsors (
      id          serial PRIMARY KEY,
      name        text NOT NULL UNIQUE,
      kind        text NOT NULL CHECK (kind IN ('enterprise','foundation','government','platform')),
      created_at  timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE organisations (
      id              serial PRIMARY KEY,
      name            text NOT NULL UNIQUE,
      sanctioned_at   timestamptz,
      sanction_reason text,
      created_at      timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE campaigns ADD COLUMN organisation_id integer REFERENCES organisations(id);

    CREATE TABLE grants (
      id            serial PRIMARY KEY,
      sponsor_id    integer NOT NULL REFERENCES sponsors(id),
      name          text NOT NULL,
      currency      char(3) NOT NULL DEFAULT 'CNY',
      budget_minor  bigint NOT NULL CHECK (budget_minor > 0),
      status        text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','active','closed')),
      scope_all     boolean NOT NULL DEFAULT false,
      priority      integer NOT NULL DEFAULT 0,
      starts_at     timestamptz NOT NULL,
      ends_at       timestamptz NOT NULL,
      rule_version  integer NOT NULL DEFAULT 1,
      created_at    timestamptz NOT NULL DEFAULT now(),
      activated_at  timestamptz,
      closed_at     timestamptz,
      CHECK (ends_at > starts_at)
    );
    CREATE INDEX grants_active ON grants (status, ends_at);

    CREATE TABLE grant_scope_campaigns (
      grant_id    integer NOT NULL REFERENCES grants(id),
      campaign_id integer NOT NULL REFERENCES campaigns(id),
      PRIMARY KEY (grant_id, campaign_id)
    );
    CREATE INDEX grant_scope_campaigns_campaign ON grant_scope_campaigns (campaign_id);
    CREATE TABLE grant_scope_streets (
      grant_id  integer NOT NULL REFERENCES grants(id),
      street_id integer NOT NULL REFERENCES streets(id),
      PRIMARY KEY (grant_id, street_id)
    );
    CREATE INDEX grant_scope_streets_street ON grant_scope_streets (street_id);

    CREATE TABLE grant_rule_versions (
      grant_id   integer NOT NULL REFERENCES grants(id),
      version    integer NOT NULL CHECK (version > 0),
      rules      jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (grant_id, version)
    );

    CREATE TABLE grant_pool_shards (
      grant_id   integer NOT NULL REFERENCES grants(id),
      bucket     text NOT NULL,
      shard      smallint NOT NULL CHECK (shard >= 0),
      account_id bigint NOT NULL UNIQUE REFERENCES ledger_accounts(id),
      PRIMARY KEY (grant_id, bucket, shard)
    );

    CREATE TABLE match_counters (
      key          text PRIMARY KEY,
      amount_minor bigint NOT NULL DEFAULT 0 CHECK (amount_minor >= 0)
    );

    CREATE TABLE match_allocations (
      id                bigserial PRIMARY KEY,
      donation_id       uuid NOT NULL REFERENCES donations(id),
      grant_id          integer NOT NULL REFERENCES grants(id),
      rule_version      integer NOT NULL,
      status            text NOT NULL CHECK (status IN ('zero','reserved','held','committed','released','clawed_back')),
      desired_minor     bigint NOT NULL CHECK (desired_minor >= 0),
      reserved_minor    bigint NOT NULL DEFAULT 0 CHECK (reserved_minor >= 0 AND reserved_minor <= desired_minor),
      committed_minor   bigint NOT NULL DEFAULT 0 CHECK (committed_minor >= 0),
      clawed_back_minor bigint NOT NULL DEFAULT 0 CHECK (clawed_back_minor >= 0 AND clawed_back_minor <= committed_minor),
      reason            text,
      hold_reason       text,
      draw              jsonb,
      inputs            jsonb NOT NULL DEFAULT '{}',
      pool_legs         jsonb NOT NULL DEFAULT '[]',
      counter_keys      text[] NOT NULL DEFAULT '{}',
      reserved_at       timestamptz NOT NULL DEFAULT now(),
      expires_at        timestamptz,
      settled_at        timestamptz,
      updated_at        timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT match_allocations_once UNIQUE (donation_id, grant_id),
      CHECK (committed_minor <= reserved_minor),
      CHECK ((status = 'zero') = (reserved_minor = 0))
    );
    CREATE INDEX match_allocations_grant ON match_allocations (grant_id, status);
    CREATE INDEX match_allocations_expiring ON match_allocations (expires_at) WHERE status = 'reserved';
    CREATE INDEX match_allocations_holds ON match_allocations (updated_at) WHERE hold_reason IS NOT NULL AND status IN ('reserved','held');

    CREATE TABLE donor_identities (
      donation_id uuid NOT NULL REFERENCES donations(id),
      identity    text NOT NULL,
      kind        text NOT NULL CHECK (kind IN ('email','phone','fingerprint','account')),
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (donation_id, identity)
    );
    CREATE INDEX donor_identities_recent ON donor_identities (identity, created_at);

    CREATE TABLE campaign_linked_identities (
      campaign_id integer NOT NULL REFERENCES campaigns(id),
      identity    text NOT NULL,
      role        text NOT NULL CHECK (role IN ('beneficiary','organiser')),
      created_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (campaign_id, identity)
    );

    CREATE TABLE match_distributions (
      id           bigserial PRIMARY KEY,
      grant_id     integer NOT NULL REFERENCES grants(id),
      campaign_id  integer NOT NULL REFERENCES campaigns(id),
      kind         text NOT NULL CHECK (kind IN ('stretch','quadratic')),
      amount_minor bigint NOT NULL CHECK (amount_minor > 0),
      weight       text NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      UNIQUE (grant_id, campaign_id, kind)
    );

    ALTER TABLE sandbox_payments ADD COLUMN fingerprint text;
    ALTER TABLE donations ADD COLUMN disputed_minor bigint NOT NULL DEFAULT 0 CHECK (disputed_minor >= 0);
    ALTER TABLE donations ADD CONSTRAINT donations_returned_within_amount CHECK (refunded_minor + disputed_minor <= amount_minor);

    ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_donation_required;
    ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_donation_required
      CHECK (kind NOT IN ('donation','refund','processor_fee','dispute','match_reserve','match_commit','match_release','match_clawback') OR donation_id IS NOT NULL);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE ledger_journals DROP CONSTRAINT ledger_journals_donation_required;
    ALTER TABLE ledger_journals ADD CONSTRAINT ledger_journals_donation_required
      CHECK (kind NOT IN ('donation','refund','processor_fee') OR donation_id IS NOT NULL);
    ALTER TABLE sandbox_payments DROP COLUMN fingerprint;
    ALTER TABLE donations DROP CONSTRAINT donations_returned_within_amount;
    ALTER TABLE donations DROP COLUMN disputed_minor;
    DROP TABLE match_distributions; DROP TABLE campaign_linked_identities; DROP TABLE donor_identities;
    DROP TABLE match_allocations; DROP TABLE match_counters; DROP TABLE grant_pool_shards; DROP TABLE grant_rule_versions;
    DROP TABLE grant_scope_streets; DROP TABLE grant_scope_campaigns; DROP TABLE grants;
    ALTER TABLE campaigns DROP COLUMN organisation_id; DROP TABLE organisations; DROP TABLE sponsors;
  `);
}
