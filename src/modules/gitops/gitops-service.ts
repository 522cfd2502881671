import type { components, operations } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { GitopsConfig } from '../../config/config';
import { type EnvelopeCipher, type SecretContext, SecretUnreadableError } from '../../crypto/envelope';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ApiError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../errors/api-error';
import { DestinationRefusedError, DestinationUnresolvableError, type OutboundHttp } from '../../outbound/outbound-http';
import type { OrgService } from '../orgs';
import { type ArgocdApp, ArgocdClient, type ArgocdTarget } from './argocd-client';
import { type ArgocdEndpointRow, ArgocdEndpointStore } from './argocd-endpoint-store';
import { type GitopsAppMappingRow, GitopsAppMappingStore } from './gitops-app-mapping-store';
import { type GitopsObservationRow, GitopsObservationStore, type ObservationUpdate, type Transition } from './gitops-observation-store';

type ArgocdEndpoint = components['schemas']['ArgocdEndpoint'];
type GitopsAppMapping = components['schemas']['GitopsAppMapping'];
type GitopsObservation = components['schemas']['GitopsObservation'];
type CreateEndpointInput = operations['createArgocdEndpoint']['requestBody']['content']['application/json'];
type CreateMappingInput = operations['createGitopsAppMapping']['requestBody']['content']['application/json'];

/** The one thing this module asks of access requests (their module's face): may the caller see this request? 404 if not. */
export interface RequestVisibility {
  visible(principal: Principal, requestId: string): Promise<unknown>;
}

export interface GitopsSettings extends GitopsConfig {
  /** Longest silence from Argo CD on one call. */
  timeoutMs: number;
}

export interface PatchApplied {
  orgId: string;
  requestId: string;
  secret: { clusterName: string; provider: string; ref: string };
  appliedAt: Date;
}

const PURPOSE = 'argocd.token';
/** At most this many observations are refreshed by one read (their Argo CD calls run side by side). */
const REFRESH_PER_READ = 20;

const toEndpoint = (row: ArgocdEndpointRow): ArgocdEndpoint => ({
  id: row.id,
  org_id: row.org_id,
  name: row.name,
  base_url: row.base_url,
  enabled: row.enabled,
  token_last_four: row.token_last_four,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

const toMapping = (row: GitopsAppMappingRow): GitopsAppMapping => ({
  id: row.id,
  org_id: row.org_id,
  argocd_endpoint_id: row.argocd_endpoint_id,
  app_name: row.app_name,
  cluster_name: row.cluster_name,
  provider: row.provider,
  ref_prefix: row.ref_prefix,
  created_at: row.created_at.toISOString(),
});

const toObservation = (row: GitopsObservationRow): GitopsObservation => {
  const last = row.transitions.at(-1);
  return {
    id: row.id,
    request_id: row.request_id,
    argocd_endpoint_id: row.argocd_endpoint_id,
    mapping_id: row.mapping_id,
    app_name: row.app_name,
    state: row.state,
    sync_status: last?.sync_status ?? null,
    health_status: last?.health_status ?? null,
    applied_at: row.applied_at.toISOString(),
    transitions: row.transitions,
    last_checked_at: row.last_checked_at?.toISOString() ?? null,
    last_error: row.last_error,
    settled_at: row.settled_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
  };
};

const endpointNotFound = (id: string) => new NotFoundError(`No Argo CD endpoint '${id}' exists in this org.`, 'ARGOCD_ENDPOINT_NOT_FOUND');
const mappingNotFound = (id: string) =>
  new NotFoundError(`No GitOps app mapping '${id}' exists in this org.`, 'GITOPS_APP_MAPPING_NOT_FOUND');
const urlRefused = (reason: string) =>
  new ValidationError(`base_url ${reason}.`, 'ARGOCD_URL_REFUSED', [
    { location: 'body', field: 'base_url', message: reason, rule: 'outbound' },
  ]);
const secretOf = (orgId: string, endpointId: string): SecretContext => ({ orgId, purpose: PURPOSE, rowId: endpointId });
const lastFourOf = (token: string) => (token.length >= 16 ? token.slice(-4) : null);
const isSettled = (app: Pick<ArgocdApp, 'sync_status' | 'health_status'>) =>
  app.sync_status === 'Synced' && app.health_status === 'Healthy';
const atOrAfter = (time: string | null, moment: Date) => time !== null && Date.parse(time) >= moment.getTime();

/**
 * The Argo CD integration: endpoints (token sealed with the org's data key, opened only for the
 * call), which applications consume which secrets, and after a patch whether those applications
 * came back to Synced and Healthy. Observations are recorded inside the patch's transaction with no
 * call out; Argo CD is asked when someone reads them, never while a transaction is open.
 */
export class GitopsService {
  private readonly endpoints: ArgocdEndpointStore;
  private readonly mappings: GitopsAppMappingStore;
  private readonly observations: GitopsObservationStore;
  private readonly argocd: ArgocdClient;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly outbound: Pick<OutboundHttp, 'destination' | 'forward'>,
    private readonly cipher: Pick<EnvelopeCipher, 'encrypt' | 'decrypt'>,
    private readonly settings: GitopsSettings,
    private readonly faces: () => { requests?: RequestVisibility },
  ) {
    this.endpoints = new ArgocdEndpointStore(db);
    this.mappings = new GitopsAppMappingStore(db);
    this.observations = new GitopsObservationStore(db);
    this.argocd = new ArgocdClient(outbound, settings.timeoutMs);
  }

  async createEndpoint(principal: Principal, input: CreateEndpointInput): Promise<ArgocdEndpoint> {
    const orgId = await this.orgs.scope(principal);
    const baseUrl = await this.checkedBaseUrl(input.base_url);
    const id = newId('argo');
    const ciphertext = await this.cipher.encrypt(secretOf(orgId, id), input.token);
    try {
      const row = await this.endpoints.insert({
        id,
        org_id: orgId,
        name: input.name,
        base_url: baseUrl,
        token_ciphertext: ciphertext,
        token_last_four: lastFourOf(input.token),
      });
      return toEndpoint(row);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError('The org already has an Argo CD endpoint with this name.', 'ARGOCD_ENDPOINT_NAME_TAKEN');
      throw error;
    }
  }

  async listEndpoints(principal: Principal, query: { limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const page = pageOf(await this.endpoints.list(orgId, decodeCursor(query.cursor), query.limit + 1), query.limit);
    return { argocd_endpoints: page.items.map(toEndpoint), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async setEndpointEnabled(principal: Principal, id: string, enabled: boolean): Promise<ArgocdEndpoint> {
    const orgId = await this.orgs.scope(principal);
    const old = await this.endpoints.find(orgId, id, true);
    if (!old) throw endpointNotFound(id);
    noteBefore({ enabled: old.enabled });
    return toEndpoint((await this.endpoints.setEnabled(orgId, id, enabled))!);
  }

  async removeEndpoint(principal: Principal, id: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    const old = await this.endpoints.find(orgId, id, true);
    if (!old) throw endpointNotFound(id);
    noteBefore(toEndpoint(old));
    await this.endpoints.delete(orgId, id);
  }

  async discoveredApps(principal: Principal, id: string) {
    const orgId = await this.orgs.scope(principal);
    const target = await this.targetOf(orgId, id);
    if (!target) throw endpointNotFound(id);
    if ('disabled' in target) {
      throw new ConflictError(`The Argo CD endpoint '${id}' is disabled; enable it first.`, 'ARGOCD_ENDPOINT_DISABLED');
    }
    const apps = await this.argocd.applications(target);
    const mapped = await this.mappings.appNamesOf(orgId, id);
    return { argocd_endpoint_id: id, applications: apps.map((app) => ({ ...app, mapped: mapped.has(app.name) })) };
  }

  async createMapping(principal: Principal, input: CreateMappingInput): Promise<GitopsAppMapping> {
    const orgId = await this.orgs.scope(principal);
    if (!(await this.endpoints.find(orgId, input.argocd_endpoint_id))) throw endpointNotFound(input.argocd_endpoint_id);
    try {
      const row = await this.mappings.insert({
        id: newId('gam'),
        org_id: orgId,
        argocd_endpoint_id: input.argocd_endpoint_id,
        app_name: input.app_name,
        cluster_name: input.cluster_name,
        provider: input.provider ?? null,
        ref_prefix: input.ref_prefix ?? null,
      });
      return toMapping(row);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError('This application is already mapped to these secrets.', 'GITOPS_APP_MAPPING_EXISTS');
      throw error;
    }
  }

  async listMappings(principal: Principal, query: { limit: number; cursor?: string; argocd_endpoint_id?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.mappings.list(orgId, query.argocd_endpoint_id ?? null, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    return { gitops_app_mappings: page.items.map(toMapping), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async removeMapping(principal: Principal, id: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    const old = await this.mappings.find(orgId, id);
    if (!old) throw mappingNotFound(id);
    noteBefore(toMapping(old));
    if (!(await this.mappings.delete(orgId, id))) throw mappingNotFound(id);
  }

  /**
   * Inside the transaction where a patch job completed: one pending observation per application
   * of an enabled endpoint whose mappings take in the secret. No call out (the transaction stays
   * short); nothing at all while GITOPS_ENABLED is off.
   */
  async observePatch(input: PatchApplied): Promise<void> {
    if (!this.settings.enabled) return;
    const apps = await this.mappings.matching(input.orgId, input.secret);
    await this.observations.insertPending(
      input.orgId,
      input.requestId,
      input.appliedAt,
      apps.map((app) => ({ ...app, id: newId('gob') })),
    );
  }

  /** The request's observations, those still open refreshed from Argo CD first; 404 unless the caller may see the request. */
  async requestObservations(principal: Principal, requestId: string, userId?: string) {
    if (userId !== undefined && userId !== principal.userId) {
      throw new ForbiddenError('user_id must be your own user id (the caller is who the credential says).', 'ACTOR_MISMATCH');
    }
    const requests = this.faces().requests;
    // Until the access-requests module is wired in, no request exists to observe.
    if (!requests) throw new NotFoundError(`No route matches GET /api/v1/requests/${requestId}/gitops.`, 'ROUTE_NOT_FOUND');
    await requests.visible(principal, requestId);
    const orgId = await this.orgs.scope(principal);
    return { request_id: requestId, observations: (await this.refreshedObservations(orgId, requestId)).map(toObservation) };
  }

  /**
   * The observations, each open one not asked about within recheckSeconds refreshed first; the
   * calls run side by side, outside any transaction.
   */
  async refreshedObservations(orgId: string, requestId: string): Promise<GitopsObservationRow[]> {
    const rows = await this.observations.ofRequest(orgId, requestId);
    const now = Date.now();
    const stale = rows
      .filter((row) => row.state === 'pending' || row.state === 'observing')
      .filter((row) => row.last_checked_at === null || now - row.last_checked_at.getTime() >= this.settings.recheckSeconds * 1000)
      .slice(0, REFRESH_PER_READ);
    if (stale.length === 0) return rows;
    await Promise.all(stale.map((row) => this.refresh(row)));
    return this.observations.ofRequest(orgId, requestId);
  }

  /** One look at Argo CD for one observation, then a short transaction to record what it saw. */
  private async refresh(row: GitopsObservationRow): Promise<void> {
    let seen: ArgocdApp | undefined;
    let error: string | null = null;
    try {
      const target = await this.targetOf(row.org_id, row.argocd_endpoint_id);
      if (!target) error = 'the Argo CD endpoint was deleted';
      else if ('disabled' in target) error = 'the Argo CD endpoint is disabled';
      else seen = await this.argocd.application(target, row.app_name);
    } catch (caught) {
      // Argo CD's failures (and a token this instance cannot open) are what the observation reports; anything else is a bug.
      if (!(caught instanceof ApiError || caught instanceof SecretUnreadableError)) throw caught;
      error = caught.message;
    }
    const checkedAt = new Date();
    await this.db.transaction(async () => {
      const current = await this.observations.lock(row.id);
      if (!current || current.state === 'synced' || current.state === 'timed_out') return;
      await this.observations.update(row.id, this.nextState(current, seen, error, checkedAt), checkedAt);
    });
  }

  /**
   * Appends what Argo CD reports when its sync or health status changed. Synced and Healthy
   * settles the observation only when it shows the patch was taken in: Argo CD reported something
   * else since the patch, or compared (reconciled) or synced after it. Past the window, it times out.
   */
  private nextState(row: GitopsObservationRow, seen: ArgocdApp | undefined, error: string | null, at: Date): ObservationUpdate {
    const transitions: Transition[] = [...row.transitions];
    const last = transitions.at(-1);
    if (seen && (!last || last.sync_status !== seen.sync_status || last.health_status !== seen.health_status)) {
      transitions.push({
        sync_status: seen.sync_status,
        health_status: seen.health_status,
        revision: seen.revision,
        observed_at: at.toISOString(),
      });
    }
    const sincePatch =
      row.transitions.some((transition) => !isSettled(transition)) ||
      atOrAfter(seen?.reconciled_at ?? null, row.applied_at) ||
      atOrAfter(seen?.operation_finished_at ?? null, row.applied_at);
    const windowEnd = row.applied_at.getTime() + this.settings.observationWindowMinutes * 60_000;
    const state =
      seen && isSettled(seen) && sincePatch
        ? 'synced'
        : at.getTime() >= windowEnd
          ? 'timed_out'
          : transitions.length
            ? 'observing'
            : 'pending';
    return { state, transitions: transitions.slice(-100), last_error: error?.slice(0, 500) ?? null };
  }

  /** The endpoint's URL and decrypted token; `disabled` when it may not be called; undefined when absent or another org's. */
  private async targetOf(orgId: string, id: string): Promise<ArgocdTarget | { disabled: true } | undefined> {
    const row = await this.endpoints.findWithSecret(orgId, id);
    if (!row) return undefined;
    if (!row.enabled) return { disabled: true };
    return { baseUrl: row.base_url, token: await this.cipher.decrypt(secretOf(orgId, id), row.token_ciphertext) };
  }

  /** An http(s) URL without query, fragment or credentials whose host the outbound rules allow; stored without a trailing slash. */
  private async checkedBaseUrl(raw: string): Promise<string> {
    if (raw.includes('?') || raw.includes('#')) throw urlRefused('must not carry a query or fragment');
    try {
      const { url } = await this.outbound.destination(raw);
      return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    } catch (error) {
      if (error instanceof DestinationRefusedError || error instanceof DestinationUnresolvableError) throw urlRefused(error.message);
      throw error;
    }
  }
}
