import type { Knex } from 'knex';

/**
 * People and control: user accounts (staff roles and residents), invitations and password
 * resets, personal API tokens, the append-only audit log, and four-eyes approvals.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE users (
      id              serial PRIMARY KEY,
      email           text NOT NULL UNIQUE CHECK (email = lower(email)),
      display_name    text NOT NULL,
      password_hash   text,
      role            text NOT NULL CHECK (role IN ('association_admin','association_finance','street_officer','social_org','reviewer','auditor','sponsor','resident')),
      street_id       integer REFERENCES streets(id),
      organisation_id integer REFERENCES organisations(id),
      sponsor_id      integer REFERENCES sponsors(id),
      totp_secret     text,
      totp_enabled_at timestamptz,
      disabled_at     timestamptz,
      last_login_at   timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now(),
      CHECK (role <> 'street_officer' OR street_id IS NOT NULL),
      CHECK (role <> 'social_org' OR organisation_id IS NOT NULL),
      CHECK (role <> 'sponsor' OR sponsor_id IS NOT NULL)
    );

    CREATE TABLE user_invitations (
      id          serial PRIMARY KEY,
      token_hash  text NOT NULL UNIQUE,
      purpose     text NOT NULL CHECK (purpose IN ('invite','reset')),
      email       text NOT NULL,
      user_id     integer REFERENCES users(id),
      role        text,
      street_id   integer REFERENCES streets(id),
      organisation_id integer REFERENCES organisations(id),
      sponsor_id  integer REFERENCES sponsors(id),
      display_name text,
      created_by  integer NOT NULL REFERENCES users(id),
      expires_at  timestamptz NOT NULL,
      used_at     timestamptz,
      created_at  timestamptz NOT NULL DEFAULT now()
    );

    ALTER TABLE api_tokens ADD COLUMN user_id integer REFERENCES users(id);
    ALTER TABLE donations ADD COLUMN user_id integer REFERENCES users(id);
    CREATE INDEX donations_user ON donations (user_id, created_at DESC) WHERE user_id IS NOT NULL;

    ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
    ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check CHECK (status IN ('draft','review','live','closed'));
    ALTER TABLE campaigns ADD COLUMN created_by integer REFERENCES users(id);
    ALTER TABLE grants ADD COLUMN created_by integer REFERENCES users(id);

    CREATE TABLE audit_log (
      id            bigserial PRIMARY KEY,
      at            timestamptz NOT NULL DEFAULT now(),
      actor_user_id integer REFERENCES users(id),
      actor_label   text NOT NULL,
      action        text NOT NULL,
      subject_type  text NOT NULL,
      subject_id    text,
      before        jsonb,
      after         jsonb,
      ip            text,
      user_agent    text,
      request_id    text
    );
    CREATE INDEX audit_log_at ON audit_log (at DESC);
    CREATE INDEX audit_log_actor ON audit_log (actor_user_id, at DESC);
    CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id);
    CREATE INDEX audit_log_action ON audit_log (action, at DESC);
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'audit_log is append-only (% blocked)', TG_OP USING ERRCODE = 'insufficient_privilege'; END $$;
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

    CREATE TABLE approvals (
      id           serial PRIMARY KEY,
      kind         text NOT NULL CHECK (kind IN ('refund','grant_activation','adjustment','award','disbursement')),
      subject_type text NOT NULL,
      subject_id   text NOT NULL,
      payload      jsonb NOT NULL DEFAULT '{}',
      status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','approved','rejected','failed')),
      requested_by integer NOT NULL REFERENCES users(id),
      requested_at timestamptz NOT NULL DEFAULT now(),
      decided_by   integer REFERENCES users(id),
      decided_at   timestamptz,
      note         text,
      result       jsonb,
      CONSTRAINT approvals_four_eyes CHECK (decided_by IS NULL OR decided_by <> requested_by),
      CHECK ((status = 'pending') = (decided_by IS NULL))
    );
    CREATE UNIQUE INDEX approvals_one_pending ON approvals (kind, subject_type, subject_id) WHERE status = 'pending';
    CREATE INDEX approvals_status ON approvals (status, requested_at);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE approvals; DROP TABLE audit_log; DROP FUNCTION audit_log_append_only();
    ALTER TABLE grants DROP COLUMN created_by; ALTER TABLE campaigns DROP COLUMN created_by;
    ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
    ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check CHECK (status IN ('draft','live','closed'));
    DROP INDEX donations_user; ALTER TABLE donations DROP COLUMN user_id; ALTER TABLE api_tokens DROP COLUMN user_id;
    DROP TABLE user_invitations; DROP TABLE users;
  `);
}
