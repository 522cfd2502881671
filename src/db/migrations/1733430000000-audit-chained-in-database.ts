import type { MigrationInterface, QueryRunner } from 'typeorm';
import { canonicalParts, type HashedFields } from '../../audit/audit-chain';

/**
 * A pending audit event is kept as its canonical text (what its hash covers) cut where its seq
 * goes, and the database chains pending events itself: audit_chain_pending locks the chain's head,
 * numbers the oldest pending events, hashes each onto its predecessor (sha256 of the previous hash
 * and the UTF-8 of `before || seq || after`, exactly chainHash's bytes) and moves them into
 * audit_events, all in the one statement that calls it. The fields stored are read back out of
 * that same text, so what is stored is what was hashed.
 */
const CHAIN_PENDING = `
CREATE FUNCTION audit_chain_pending(chain text, max_events integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  head_seq bigint;
  head_hash bytea;
  befores text[];
  afters text[];
  canonicals text[] := '{}';
  hashes bytea[] := '{}';
  prev bytea;
BEGIN
  SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_heads WHERE org_id = chain FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO audit_chain_heads (org_id, seq, hash) VALUES (chain, 0, decode(repeat('00', 32), 'hex')) ON CONFLICT (org_id) DO NOTHING;
    SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_heads WHERE org_id = chain FOR UPDATE;
  END IF;
  -- A statement after the lock sees what the chainer before it committed.
  WITH taken AS (
    DELETE FROM audit_pending WHERE id IN (SELECT id FROM audit_pending WHERE org_id = chain ORDER BY id LIMIT max_events)
    RETURNING id, canonical_before_seq, canonical_after_seq)
  SELECT array_agg(canonical_before_seq ORDER BY id), array_agg(canonical_after_seq ORDER BY id) INTO befores, afters FROM taken;
  IF befores IS NULL THEN
    RETURN 0;
  END IF;
  prev := head_hash;
  FOR i IN 1 .. cardinality(befores) LOOP
    canonicals[i] := befores[i] || (head_seq + i)::text || afters[i];
    prev := sha256(prev || convert_to(canonicals[i], 'UTF8'));
    hashes[i] := prev;
  END LOOP;
  INSERT INTO audit_events (id, org_id, seq, occurred_at, actor_type, actor_id, workspace_id, action, resource_type, resource_id,
    outcome, request_id, ip, user_agent, details, prev_hash, hash)
  SELECT e.id, chain, head_seq + t.n, e.occurred_at, e.actor_type, e.actor_id, e.workspace_id, e.action, e.resource_type,
    e.resource_id, e.outcome, e.request_id, e.ip, e.user_agent, e.details, coalesce(hashes[t.n - 1], head_hash), t.hash
  FROM unnest(canonicals, hashes) WITH ORDINALITY AS t(canonical, hash, n)
  CROSS JOIN LATERAL json_to_record(t.canonical::json) AS e(id text, occurred_at timestamptz, actor_type text, actor_id text,
    workspace_id text, action text, resource_type text, resource_id text, outcome text, request_id text, ip text, user_agent text,
    details jsonb);
  UPDATE audit_chain_heads SET seq = head_seq + cardinality(befores), hash = prev WHERE org_id = chain;
  RETURN cardinality(befores);
END
$$`;

export class AuditChainedInDatabase1733430000000 implements MigrationInterface {
  name = 'AuditChainedInDatabase1733430000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE audit_pending ADD COLUMN canonical_before_seq text, ADD COLUMN canonical_after_seq text`);
    // Events a stopped instance left pending in the earlier form (normally none): their text, made as chainHash makes it.
    const left: Array<{ id: string; event: Omit<HashedFields, 'seq'> }> = await queryRunner.query(`SELECT id, event FROM audit_pending`);
    for (const { id, event } of left) {
      await queryRunner.query(`UPDATE audit_pending SET canonical_before_seq = $2, canonical_after_seq = $3 WHERE id = $1`, [
        id,
        ...canonicalParts(event),
      ]);
    }
    await queryRunner.query(`ALTER TABLE audit_pending DROP COLUMN event`);
    await queryRunner.query(
      `ALTER TABLE audit_pending ALTER COLUMN canonical_before_seq SET NOT NULL, ALTER COLUMN canonical_after_seq SET NOT NULL`,
    );
    await queryRunner.query(CHAIN_PENDING);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION audit_chain_pending(text, integer)`);
    await queryRunner.query(`ALTER TABLE audit_pending ADD COLUMN event json`);
    await queryRunner.query(
      `UPDATE audit_pending SET event = (((canonical_before_seq || '0' || canonical_after_seq)::jsonb) - 'seq')::json`,
    );
    await queryRunner.query(
      `ALTER TABLE audit_pending ALTER COLUMN event SET NOT NULL, DROP COLUMN canonical_before_seq, DROP COLUMN canonical_after_seq`,
    );
  }
}
