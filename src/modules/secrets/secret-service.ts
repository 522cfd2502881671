import type { components, operations } from '../../../generated/api';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { type ErrorDetail, NotFoundError, ValidationError } from '../../errors/api-error';
import type { AgentService } from '../agents';
import type { OrgService } from '../orgs';
import { type DiscoveredSecretRow, DiscoveredSecretStore, type ReportedSecret } from './discovered-secret-store';

export type DiscoveredSecret = components['schemas']['DiscoveredSecret'];
/** A secret named by its id, or by where it lives. */
export type SecretReference = { secretId: string } | { clusterName: string; provider: string; ref: string };

type BulkInput = operations['bulkUpsertDiscoveredSecrets']['requestBody']['content']['application/json'];
type BulkResult = operations['bulkUpsertDiscoveredSecrets']['responses']['200']['content']['application/json'];
type ListQuery = NonNullable<operations['listDiscoveredSecrets']['parameters']['query']>;

/** The documented label key form; the spec (OpenAPI 3.0) cannot constrain property names itself. */
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;

const toSecret = (row: DiscoveredSecretRow): DiscoveredSecret => ({
  id: row.id,
  cluster_name: row.cluster_name,
  provider: row.provider,
  ref: row.ref,
  labels: row.labels,
  status: row.status,
  agent_id: row.agent_id,
  first_seen: row.first_seen.toISOString(),
  last_seen: row.last_seen.toISOString(),
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

const secretNotFound = (what: string) => new NotFoundError(`No discovered secret ${what} exists in this org.`, 'SECRET_NOT_FOUND');

/** `prefix` as a LIKE pattern that matches it literally: `%`, `_` and the escape character lose their meaning. */
const likeLiteral = (prefix: string) => prefix.replace(/[\\%_]/g, (character) => `\\${character}`);

/**
 * Secrets the org's agents discover in their clusters: where each lives and its labels, never its
 * value (the request schema has no field for one). Agents report in bulk; people list and read.
 */
export class SecretService {
  private readonly store: DiscoveredSecretStore;

  constructor(
    db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly agents: Pick<AgentService, 'assertSelf'>,
  ) {
    this.store = new DiscoveredSecretStore(db);
  }

  /** The agent's report, upserted in one statement (the binding's transaction holds it and its audit event). */
  async report(principal: Principal, agentRef: string, input: BulkInput): Promise<BulkResult> {
    await this.agents.assertSelf(principal, agentRef);
    assertReportable(input);
    const now = new Date().toISOString();
    const secrets: ReportedSecret[] = input.secrets.map((secret) => ({
      id: newId('sec'),
      cluster_name: secret.cluster_name,
      provider: secret.provider,
      ref: secret.ref,
      labels: JSON.stringify(secret.labels ?? {}),
      status: secret.status ?? 'active',
      last_seen: secret.last_seen ?? now,
    }));
    const { created, updated } = await this.store.upsert(principal.orgId!, principal.agentId!, secrets);
    return { received: secrets.length, created, updated, unchanged: secrets.length - created - updated };
  }

  async list(principal: Principal, query: ListQuery & { limit: number }) {
    const orgId = await this.orgs.scope(principal);
    const filter = {
      cluster_name: query.cluster_name,
      provider: query.provider,
      ref_like_prefix: query.ref_prefix === undefined ? undefined : likeLiteral(query.ref_prefix),
      status: query.status,
      labels: (query.label ?? []).map((label) => {
        const colon = label.indexOf(':');
        return { [label.slice(0, colon)]: label.slice(colon + 1) };
      }),
    };
    const rows = await this.store.list(orgId, filter, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    return { secrets: page.items.map(toSecret), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async get(principal: Principal, id: string): Promise<DiscoveredSecret> {
    return this.resolve(await this.orgs.scope(principal), { secretId: id });
  }

  /** The org's discovered secret by id or by place; 404 SECRET_NOT_FOUND when unknown or another org's. */
  async resolve(orgId: string, reference: SecretReference): Promise<DiscoveredSecret> {
    if ('secretId' in reference) {
      const row = await this.store.find(orgId, reference.secretId);
      if (!row) throw secretNotFound(`'${reference.secretId}'`);
      return toSecret(row);
    }
    const row = await this.store.findByRef(orgId, reference.clusterName, reference.provider, reference.ref);
    if (!row) throw secretNotFound(`'${reference.ref}' of provider '${reference.provider}' in cluster '${reference.clusterName}'`);
    return toSecret(row);
  }

  /** Distinct cluster names the agent has reported secrets for (the clusters it serves). */
  clustersServedBy(orgId: string, agentId: string): Promise<string[]> {
    return this.store.clustersReportedBy(orgId, agentId);
  }
}

/** 422 naming each label key out of form and each item repeating an earlier one's secret (one statement upserts a row once). */
function assertReportable(input: BulkInput): void {
  const problems: ErrorDetail[] = [];
  const seen = new Map<string, number>();
  input.secrets.forEach((secret, index) => {
    for (const key of Object.keys(secret.labels ?? {})) {
      if (!LABEL_KEY.test(key)) {
        const message = 'has a key that is not 1-128 letters, digits, `.`, `_`, `/` or `-` starting with a letter or digit';
        problems.push({ location: 'body', field: `secrets/${index}/labels`, message, rule: 'pattern' });
      }
    }
    const place = JSON.stringify([secret.cluster_name, secret.provider, secret.ref]);
    const first = seen.get(place);
    if (first === undefined) seen.set(place, index);
    else
      problems.push({
        location: 'body',
        field: `secrets/${index}`,
        message: `names the same secret as secrets/${first}`,
        rule: 'uniqueItems',
      });
  });
  if (problems.length > 0) throw new ValidationError('The report is not valid.', 'VALIDATION_FAILED', problems);
}
