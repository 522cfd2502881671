import { sqlMigration } from './sql-migration';

/**
 * Proof of possession of a registered agent key. A public key can be copied, so registering one
 * no longer claims it: any number of orgs may hold unproven registrations of a sekuire_id (one
 * per org), and at most one, the org that proved it holds the private key, a proven one.
 * Registrations made before this migration start unproven.
 */
export const AgentKeyProof1732900000000 = sqlMigration(
  'AgentKeyProof1732900000000',
  [
    `ALTER TABLE agents ADD COLUMN key_proven_at timestamptz`,
    `ALTER TABLE agents DROP CONSTRAINT agents_sekuire_id_key`,
    `CREATE UNIQUE INDEX agents_org_sekuire_id_idx ON agents (org_id, sekuire_id)`,
    `CREATE UNIQUE INDEX agents_proven_sekuire_id_idx ON agents (sekuire_id) WHERE key_proven_at IS NOT NULL`,
  ],
  [
    `DROP INDEX agents_proven_sekuire_id_idx`,
    `DROP INDEX agents_org_sekuire_id_idx`,
    `ALTER TABLE agents ADD CONSTRAINT agents_sekuire_id_key UNIQUE (sekuire_id)`,
    `ALTER TABLE agents DROP COLUMN key_proven_at`,
  ],
);
