import { sqlMigration } from './sql-migration';

/**
 * Container image scans (issue 16, seed 000): the org's registry credentials (secret sealed with
 * the org's data key), the images it asked about, and each scan with its report. A scan's report
 * is written in the same statement that marks it succeeded, so nothing is ever half-written; at
 * most one scan per org and image digest is queued or running (the partial unique index).
 */
export const ImageScans1733400000000 = sqlMigration(
  'ImageScans1733400000000',
  [
    `CREATE TABLE image_registry_credentials (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      registry text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('basic', 'token')),
      username text,
      secret_ciphertext text NOT NULL,
      secret_last_four text,
      created_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (org_id, registry)
    )`,
    `CREATE TABLE images (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      ref text NOT NULL,
      registry text NOT NULL,
      repository text NOT NULL,
      tag text,
      digest text,
      latest_scan_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (org_id, ref)
    )`,
    `CREATE INDEX images_org_idx ON images (org_id, id DESC)`,
    `CREATE TABLE image_scans (
      id text PRIMARY KEY,
      org_id text NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
      ref text NOT NULL,
      registry text NOT NULL,
      repository text NOT NULL,
      tag text,
      digest text,
      status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
      reason text,
      created_by text,
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      finished_at timestamptz,
      -- A running scan's worker touches this while it works; one left stale was cut short (a crash).
      heartbeat_at timestamptz,
      report jsonb,
      CHECK ((status = 'succeeded') = (report IS NOT NULL)),
      CHECK ((status = 'failed') = (reason IS NOT NULL))
    )`,
    `CREATE UNIQUE INDEX image_scans_one_active_per_digest ON image_scans (org_id, digest)
       WHERE status IN ('queued', 'running') AND digest IS NOT NULL`,
    `CREATE INDEX image_scans_ref_idx ON image_scans (org_id, ref, id DESC)`,
    `CREATE INDEX image_scans_active_idx ON image_scans (status, id) WHERE status IN ('queued', 'running')`,
  ],
  [`DROP TABLE image_scans`, `DROP TABLE images`, `DROP TABLE image_registry_credentials`],
);
