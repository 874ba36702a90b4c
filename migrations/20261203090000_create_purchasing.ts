import type { Knex } from 'knex';

/**
 * Government purchase of services (G-1 … G-15): a street's call for proposals committed from its
 * pool, organisations and their (joint) applications with duplicate flags, a randomly drawn expert
 * panel scoring per criterion, the public notice with objections, contracts paid in gated
 * tranches, monthly reports with expenses and vouchers, multi-party evaluations with their
 * consequences, the public red/black list, and stored attachments.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE EXTENSION IF NOT EXISTS pg_trgm;

    ALTER TABLE organisations
      ADD COLUMN registration_no text,
      ADD COLUMN certificate_expires_on date,
      ADD COLUMN registered_on date,
      ADD COLUMN rating text CHECK (rating IN ('1A','2A','3A','4A','5A')),
      ADD COLUMN credit_status text NOT NULL DEFAULT 'normal' CHECK (credit_status IN ('normal','abnormal','serious_violation')),
      ADD COLUMN annual_report_ok boolean NOT NULL DEFAULT true,
      ADD COLUMN verified_at timestamptz,
      ADD COLUMN verified_by integer REFERENCES users(id),
      ADD COLUMN contact text,
      ADD COLUMN registered_by integer REFERENCES users(id);

    -- G-3 / M-13: the public red and black list. A black entry bars the organisation until it ends.
    CREATE TABLE credit_list (
      id              serial PRIMARY KEY,
      organisation_id integer NOT NULL REFERENCES organisations(id),
      list            text NOT NULL CHECK (list IN ('red','black')),
      reason          text NOT NULL,
      since           date NOT NULL,
      until           date,
      evaluation_id   integer,
      created_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX credit_list_org ON credit_list (organisation_id, list);

    -- G-1: the service catalogue (指导性目录) a call must name.
    CREATE TABLE service_catalogue (
      code    text PRIMARY KEY CHECK (code ~ '^[a-z0-9-]{2,40}$'),
      name    text NOT NULL,
      name_en text
    );
    INSERT INTO service_catalogue (code, name, name_en) VALUES
      ('children', '困境儿童关爱服务', 'Services for children in difficulty'),
      ('elderly', '社区养老与助餐服务', 'Elderly care and meal services'),
      ('disability', '残疾人社区康复服务', 'Community rehabilitation for people with disabilities'),
      ('governance', '社区治理与居民议事', 'Community governance and residents'' deliberation'),
      ('volunteering', '志愿服务与社区营造', 'Volunteering and community building'),
      ('social-work', '社会工作专业服务', 'Professional social work');

    CREATE TABLE calls (
      id                       serial PRIMARY KEY,
      street_id                integer NOT NULL REFERENCES streets(id),
      fund_id                  integer NOT NULL REFERENCES community_funds(id),
      title                    text NOT NULL,
      description              text NOT NULL DEFAULT '',
      category                 text NOT NULL REFERENCES service_catalogue(code),
      budget_line              text NOT NULL,
      budget_minor             bigint NOT NULL CHECK (budget_minor > 0),
      funding                  jsonb NOT NULL,
      opens_at                 timestamptz NOT NULL,
      closes_at                timestamptz NOT NULL,
      eligibility              jsonb NOT NULL DEFAULT '{}',
      max_applications_per_org integer NOT NULL DEFAULT 2 CHECK (max_applications_per_org > 0),
      criteria                 jsonb NOT NULL,
      panel_size               integer NOT NULL DEFAULT 3 CHECK (panel_size BETWEEN 1 AND 15),
      notice_days              integer NOT NULL DEFAULT 7 CHECK (notice_days BETWEEN 1 AND 30),
      status                   text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','open','review','notice','awarded','closed')),
      published_at             timestamptz,
      review_closed_at         timestamptz,
      notice_starts_at         timestamptz,
      notice_ends_at           timestamptz,
      created_by               integer REFERENCES users(id),
      created_at               timestamptz NOT NULL DEFAULT now(),
      CHECK (closes_at > opens_at)
    );
    CREATE INDEX calls_street ON calls (street_id, status);

    CREATE TABLE applications (
      id                  serial PRIMARY KEY,
      call_id             integer NOT NULL REFERENCES calls(id),
      organisation_id     integer NOT NULL REFERENCES organisations(id),
      title               text NOT NULL,
      summary             text NOT NULL,
      service_area        text NOT NULL,
      beneficiaries       text NOT NULL,
      beneficiary_count   integer NOT NULL CHECK (beneficiary_count > 0),
      activities          text NOT NULL,
      outcomes            text NOT NULL,
      budget_lines        jsonb NOT NULL,
      amount_minor        bigint NOT NULL CHECK (amount_minor > 0),
      no_violation_declared boolean NOT NULL CHECK (no_violation_declared),
      status              text NOT NULL DEFAULT 'awaiting_members'
                          CHECK (status IN ('awaiting_members','submitted','shortlisted','not_shortlisted','awarded','withdrawn')),
      submitted_by        integer REFERENCES users(id),
      created_at          timestamptz NOT NULL DEFAULT now(),
      submitted_at        timestamptz
    );
    CREATE INDEX applications_call ON applications (call_id, status);
    CREATE INDEX applications_text ON applications USING gin ((title || ' ' || summary || ' ' || activities) gin_trgm_ops);

    -- G-5: a joint application's members, each of whom confirms.
    CREATE TABLE application_members (
      id              serial PRIMARY KEY,
      application_id  integer NOT NULL REFERENCES applications(id),
      role            text NOT NULL CHECK (role IN ('lead','organisation','community','social_worker','volunteers')),
      organisation_id integer REFERENCES organisations(id),
      name            text NOT NULL,
      confirm_hash    text,
      confirmed_at    timestamptz,
      UNIQUE (application_id, name)
    );

    -- G-4: what reviewers must see side by side.
    CREATE TABLE application_flags (
      id                   serial PRIMARY KEY,
      application_id       integer NOT NULL REFERENCES applications(id),
      kind                 text NOT NULL CHECK (kind IN ('near_duplicate','same_scope_funded')),
      other_application_id integer REFERENCES applications(id),
      similarity           numeric(4,3),
      created_at           timestamptz NOT NULL DEFAULT now(),
      UNIQUE (application_id, kind, other_application_id)
    );

    -- G-6: the panel drawn for a call, the declarations, and the scores (hidden until the round closes).
    CREATE TABLE panel_members (
      id            serial PRIMARY KEY,
      call_id       integer NOT NULL REFERENCES calls(id),
      reviewer_id   integer NOT NULL REFERENCES users(id),
      draw_seed     text NOT NULL,
      declared_at   timestamptz,
      conflicted    boolean,
      conflict_note text,
      UNIQUE (call_id, reviewer_id)
    );
    CREATE TABLE review_scores (
      id             serial PRIMARY KEY,
      call_id        integer NOT NULL REFERENCES calls(id),
      application_id integer NOT NULL REFERENCES applications(id),
      reviewer_id    integer NOT NULL REFERENCES users(id),
      criterion      text NOT NULL,
      score          integer NOT NULL CHECK (score BETWEEN 0 AND 100),
      comment        text,
      scored_at      timestamptz NOT NULL DEFAULT now(),
      UNIQUE (application_id, reviewer_id, criterion)
    );

    -- G-7: objections to the shortlist; an open one blocks the award.
    CREATE TABLE objections (
      id             serial PRIMARY KEY,
      call_id        integer NOT NULL REFERENCES calls(id),
      application_id integer REFERENCES applications(id),
      author         text NOT NULL,
      contact        text,
      body           text NOT NULL,
      status         text NOT NULL DEFAULT 'open' CHECK (status IN ('open','resolved')),
      reply          text,
      replied_by     integer REFERENCES users(id),
      replied_at     timestamptz,
      created_at     timestamptz NOT NULL DEFAULT now(),
      CHECK ((status = 'resolved') = (reply IS NOT NULL))
    );

    -- G-9 / G-10: the contract and its tranches, each gated.
    CREATE TABLE contracts (
      id              serial PRIMARY KEY,
      call_id         integer NOT NULL REFERENCES calls(id),
      application_id  integer NOT NULL UNIQUE REFERENCES applications(id),
      organisation_id integer NOT NULL REFERENCES organisations(id),
      amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
      funding         jsonb NOT NULL,
      starts_on       date NOT NULL,
      ends_on         date NOT NULL,
      tolerance_bp    integer NOT NULL DEFAULT 1000 CHECK (tolerance_bp BETWEEN 0 AND 5000),
      status          text NOT NULL DEFAULT 'awarded' CHECK (status IN ('awarded','signed','completed','terminated')),
      signed_at       timestamptz,
      award_journal_id bigint REFERENCES ledger_journals(id),
      created_by      integer REFERENCES users(id),
      created_at      timestamptz NOT NULL DEFAULT now(),
      CHECK (ends_on > starts_on AND ends_on <= starts_on + interval '3 years')
    );
    CREATE TABLE tranches (
      id           serial PRIMARY KEY,
      contract_id  integer NOT NULL REFERENCES contracts(id),
      seq          integer NOT NULL CHECK (seq > 0),
      percent      integer NOT NULL CHECK (percent BETWEEN 1 AND 100),
      amount_minor bigint NOT NULL CHECK (amount_minor > 0),
      gate         text NOT NULL CHECK (gate IN ('signed','midterm','final')),
      status       text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned','requested','paid')),
      funding      jsonb NOT NULL,
      approval_id  integer REFERENCES approvals(id),
      journal_id   bigint REFERENCES ledger_journals(id),
      paid_at      timestamptz,
      UNIQUE (contract_id, seq),
      CHECK ((status = 'paid') = (journal_id IS NOT NULL))
    );

    -- G-11 / G-14: monthly reports with their statement, and every expense against a budget line.
    CREATE TABLE project_reports (
      id            serial PRIMARY KEY,
      contract_id   integer NOT NULL REFERENCES contracts(id),
      period        text NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      outputs       text NOT NULL,
      income_minor  bigint NOT NULL CHECK (income_minor >= 0),
      expense_minor bigint NOT NULL CHECK (expense_minor >= 0),
      submitted_by  integer REFERENCES users(id),
      submitted_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (contract_id, period)
    );
    CREATE TABLE project_expenses (
      id            serial PRIMARY KEY,
      contract_id   integer NOT NULL REFERENCES contracts(id),
      report_id     integer NOT NULL REFERENCES project_reports(id),
      budget_line   text NOT NULL,
      description   text NOT NULL,
      amount_minor  bigint NOT NULL CHECK (amount_minor > 0),
      attachment_id uuid NOT NULL,
      status        text NOT NULL CHECK (status IN ('accepted','needs_approval','approved','rejected')),
      approval_id   integer REFERENCES approvals(id),
      created_at    timestamptz NOT NULL DEFAULT now()
    );

    -- G-12 / G-13: evaluations and each party's input.
    CREATE TABLE evaluations (
      id           serial PRIMARY KEY,
      contract_id  integer NOT NULL REFERENCES contracts(id),
      stage        text NOT NULL CHECK (stage IN ('midterm','final')),
      score        numeric(5,2),
      grade        text CHECK (grade IN ('excellent','good','basic','fail')),
      consequence  text CHECK (consequence IN ('priority','rectification','ban','none')),
      completed_at timestamptz,
      UNIQUE (contract_id, stage)
    );
    CREATE TABLE evaluation_inputs (
      id            serial PRIMARY KEY,
      evaluation_id integer NOT NULL REFERENCES evaluations(id),
      party         text NOT NULL CHECK (party IN ('street','residents','third_party','self')),
      scores        jsonb NOT NULL,
      comment       text,
      submitted_by  integer REFERENCES users(id),
      submitted_at  timestamptz NOT NULL DEFAULT now(),
      UNIQUE (evaluation_id, party)
    );

    -- Uploaded files (vouchers, reports): stored by id, never by the uploader's name.
    CREATE TABLE attachments (
      id           uuid PRIMARY KEY,
      owner_type   text NOT NULL,
      owner_id     text NOT NULL,
      filename     text NOT NULL,
      content_type text NOT NULL,
      size_bytes   integer NOT NULL CHECK (size_bytes > 0),
      sha256       text NOT NULL,
      uploaded_by  integer REFERENCES users(id),
      created_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX attachments_owner ON attachments (owner_type, owner_id);

    ALTER TABLE approvals DROP CONSTRAINT approvals_kind_check;
    ALTER TABLE approvals ADD CONSTRAINT approvals_kind_check
      CHECK (kind IN ('refund','grant_activation','adjustment','award','disbursement','exception_resolution','expense'));
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE approvals DROP CONSTRAINT approvals_kind_check;
    ALTER TABLE approvals ADD CONSTRAINT approvals_kind_check
      CHECK (kind IN ('refund','grant_activation','adjustment','award','disbursement','exception_resolution'));
    DROP TABLE attachments; DROP TABLE evaluation_inputs; DROP TABLE evaluations; DROP TABLE project_expenses; DROP TABLE project_reports;
    DROP TABLE tranches; DROP TABLE contracts; DROP TABLE objections; DROP TABLE review_scores; DROP TABLE panel_members;
    DROP TABLE application_flags; DROP TABLE application_members; DROP TABLE applications; DROP TABLE calls; DROP TABLE service_catalogue; DROP TABLE credit_list;
    ALTER TABLE organisations DROP COLUMN registered_by, DROP COLUMN contact, DROP COLUMN verified_by, DROP COLUMN verified_at, DROP COLUMN annual_report_ok,
      DROP COLUMN credit_status, DROP COLUMN rating, DROP COLUMN registered_on, DROP COLUMN certificate_expires_on, DROP COLUMN registration_no;
  `);
}
