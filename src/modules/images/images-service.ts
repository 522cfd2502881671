import type { Logger } from 'pino';
import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts } from '../../audit/audit-event';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { ImagesConfig } from '../../config/config';
import type { EnvelopeCipher, SecretContext } from '../../crypto/envelope';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/api-error';
import type { OutboundHttp } from '../../outbound/outbound-http';
import type { AuditService } from '../audit';
import type { OrgService } from '../orgs';
import { parseImageRef } from './image-ref';
import { capReason, type ImageScanRow, ImageScanStore } from './image-scan-store';
import { ImageScanner } from './image-scanner';
import { type ImageRow, ImageStore } from './image-store';
import { OsvDatabase } from './osv-database';
import { type RegistryAuth, ScanFailure } from './registry-client';
import { type RegistryCredentialRow, RegistryCredentialStore } from './registry-credential-store';

type Credential = components['schemas']['ImageRegistryCredential'];
type CredentialInput = operations['createImageRegistryCredential']['requestBody']['content']['application/json'];
type ImageScan = components['schemas']['ImageScan'];
type ImageScanReport = components['schemas']['ImageScanReport'];
type Image = components['schemas']['Image'];

export interface ImagesSettings extends ImagesConfig {
  /** The longest silence of one registry call (OUTBOUND_TIMEOUT_MS). */
  timeoutMs: number;
}

const PURPOSE = 'image.registry_credential';
/** A running scan's worker touches it this often; one untouched for STALE_SECONDS was cut short. */
const HEARTBEAT_MS = 5_000;
export const STALE_SECONDS = 60;
export const INTERRUPTED = 'interrupted: the Warden instance running the scan stopped before it finished; scan again';

const iso = (date: Date | null) => date?.toISOString() ?? null;
/** A scan as the API shows it, under `asked`, the reference it was asked for by (a scan a request joined is another's). */
const toScan = (row: ImageScanRow, asked: Pick<ImageScanRow, 'ref' | 'registry' | 'repository' | 'tag'> = row): ImageScan => ({
  id: row.id,
  org_id: row.org_id,
  ref: asked.ref,
  registry: asked.registry,
  repository: asked.repository,
  tag: asked.tag,
  digest: row.digest,
  status: row.status,
  reason: row.reason,
  created_at: row.created_at.toISOString(),
  started_at: iso(row.started_at),
  finished_at: iso(row.finished_at),
});
const toImage = (row: ImageRow): Image => ({ ...row, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() });
const toCredential = (row: RegistryCredentialRow): Credential => ({ ...row, created_at: row.created_at.toISOString() });
const secretOf = (orgId: string, id: string): SecretContext => ({ orgId, purpose: PURPOSE, rowId: id });
const lastFourOf = (secret: string) => (secret.length >= 16 ? secret.slice(-4) : null);

/**
 * Container image scans: registry credentials (sealed under the org's data key, opened only for
 * a registry call), scans asked for by reference and run in the background by this instance's
 * workers (claimed from Postgres, so several instances share the queue), and their reports.
 */
export class ImageService {
  private readonly credentials: RegistryCredentialStore;
  private readonly images: ImageStore;
  private readonly scans: ImageScanStore;
  private readonly scanner: ImageScanner;
  private running = 0;
  /** Scans in flight here, for tests and shutdown to wait on. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly audit: Pick<AuditService, 'append'>,
    outbound: Pick<OutboundHttp, 'destination' | 'forward'>,
    private readonly cipher: Pick<EnvelopeCipher, 'encrypt' | 'decrypt'>,
    private readonly settings: ImagesSettings,
    private readonly logger: Logger,
  ) {
    this.credentials = new RegistryCredentialStore(db);
    this.images = new ImageStore(db);
    this.scans = new ImageScanStore(db);
    this.scanner = new ImageScanner(outbound, settings, settings.timeoutMs, new OsvDatabase(settings.osvDataDir));
  }

  async createCredential(principal: Principal, input: CredentialInput): Promise<Credential> {
    const orgId = await this.orgs.scope(principal);
    const basic = input.username !== undefined && input.password !== undefined;
    if (basic === (input.token !== undefined) || (!basic && (input.username !== undefined || input.password !== undefined))) {
      throw new ValidationError('Give username and password, or token, not both.', 'REGISTRY_CREDENTIAL_INVALID', [
        { location: 'body', field: 'token', message: 'username and password, or token', rule: 'one_of' },
      ]);
    }
    const secret = basic ? input.password! : input.token!;
    const id = newId('rcred');
    const ciphertext = await this.cipher.encrypt(secretOf(orgId, id), secret);
    try {
      const row = await this.credentials.insert({
        id,
        org_id: orgId,
        registry: input.registry,
        kind: basic ? 'basic' : 'token',
        username: basic ? input.username! : null,
        secret_ciphertext: ciphertext,
        secret_last_four: lastFourOf(secret),
      });
      return toCredential(row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictError(`The org has a credential for ${input.registry} already; delete it first.`, 'REGISTRY_CREDENTIAL_EXISTS');
      }
      throw error;
    }
  }

  async listCredentials(principal: Principal, query: { limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const page = pageOf(await this.credentials.list(orgId, decodeCursor(query.cursor), query.limit + 1), query.limit);
    return { registry_credentials: page.items.map(toCredential), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  async deleteCredential(principal: Principal, id: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    const old = await this.credentials.find(orgId, id, true);
    if (!old) throw new NotFoundError(`No registry credential '${id}' exists in this org.`, 'REGISTRY_CREDENTIAL_NOT_FOUND');
    noteBefore(toCredential(old));
    await this.credentials.delete(orgId, id);
  }

  /**
   * Asks the registry which digest the reference points to (outside any transaction), then
   * queues a scan of it, unless one of that digest is queued or running in the org already:
   * the request joins that one (the reference's image row points at it, the request is audited,
   * and the answer names this reference). A registry that fails the question gives a scan failed at once.
   */
  async requestScan(principal: Principal, rawRef: string): Promise<ImageScan> {
    const orgId = await this.orgs.scope(principal);
    const ref = parseImageRef(rawRef, this.settings.defaultRegistry);
    let digest = ref.digest;
    let reason: string | null = null;
    try {
      const auth = await this.authFor(orgId, ref.registry);
      const client = this.scanner.client({ registry: ref.registry, repository: ref.repository, auth });
      digest = (await client.manifest(ref.digest ?? ref.tag!)).digest;
    } catch (error) {
      if (!(error instanceof ScanFailure)) throw error;
      reason = error.message;
    }
    const actor = actorOf(principal);
    for (;;) {
      const answer = await this.db.transaction(async () => {
        const inserted = await this.scans.insert({
          id: newId('iscan'),
          org_id: orgId,
          ref: ref.ref,
          registry: ref.registry,
          repository: ref.repository,
          tag: ref.tag,
          digest,
          status: reason === null ? 'queued' : 'failed',
          reason,
          created_by: actor.id,
        });
        // Another request won the digest: this one joins its scan (unless it finished in between: then try again).
        const row = inserted ?? (await this.scans.activeFor(orgId, digest!));
        if (!row) return undefined;
        await this.images.upsert({ ...ref, id: newId('img'), org_id: orgId, digest, latest_scan_id: row.id });
        await this.audit.append({
          orgId,
          actor,
          action: 'image.scan_requested',
          resourceType: 'image_scan',
          resourceId: row.id,
          outcome: reason === null ? 'success' : 'failure',
          ...currentRequestFacts(),
          details: {
            operation_id: 'scanImage',
            ref: ref.ref,
            digest,
            // As stored (capped); a failed scan is always a row of its own.
            ...(reason ? { reason: row.reason } : {}),
            ...(inserted ? {} : { joined_scan_of: row.ref }),
          },
        });
        return { row, inserted: inserted !== undefined };
      });
      if (!answer) continue;
      if (answer.inserted && answer.row.status === 'queued') this.db.afterCommit(() => this.kick());
      return toScan(answer.row, ref);
    }
  }

  async getScan(principal: Principal, id: string): Promise<ImageScan> {
    const orgId = await this.orgs.scope(principal);
    const row = await this.scans.find(orgId, id);
    if (!row) throw new NotFoundError(`No image scan '${id}' exists in this org.`, 'IMAGE_SCAN_NOT_FOUND');
    return toScan(row);
  }

  async report(principal: Principal, rawRef: string): Promise<ImageScanReport> {
    const orgId = await this.orgs.scope(principal);
    const ref = parseImageRef(rawRef, this.settings.defaultRegistry);
    const shared = await this.images.latestScanId(orgId, ref.ref);
    const row = await this.scans.latestReport(orgId, ref.ref, shared);
    if (row) {
      const { report, ...scan } = row;
      return { scan: toScan(scan, ref), ...report };
    }
    const latest = await this.scans.latest(orgId, ref.ref, shared);
    const state = !latest
      ? 'it has not been scanned'
      : latest.status === 'failed'
        ? `its latest scan ${latest.id} failed: ${latest.reason}`
        : `its scan ${latest.id} is ${latest.status}`;
    throw new NotFoundError(`No scan of ${ref.ref} has succeeded in this org: ${state}.`, 'IMAGE_SCAN_REPORT_NOT_FOUND');
  }

  async list(principal: Principal, query: { limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const page = pageOf(await this.images.list(orgId, decodeCursor(query.cursor), query.limit + 1), query.limit);
    return { images: page.items.map(toImage), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /**
   * At start-up and then every minute: running scans no worker has touched for STALE_SECONDS
   * (their instance crashed or was killed) are marked failed, not re-run; queued ones are taken.
   */
  async recover(): Promise<number> {
    const failed = await this.db.detached(() => this.scans.failStale(STALE_SECONDS, INTERRUPTED));
    if (failed > 0) this.logger.warn({ scans: failed }, 'image scans cut short by a stopped instance marked failed');
    this.kick();
    return failed;
  }

  /** Resolves once every scan this instance is running has finished (tests; shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Takes queued scans while this instance has a free worker. */
  kick(): void {
    if (this.running >= this.settings.concurrency) return;
    this.running++;
    const work = this.db
      .detached(async () => {
        const scan = await this.scans.claim();
        if (!scan) return false;
        await this.run(scan);
        return true;
      })
      .catch((error: Error) => {
        this.logger.error({ err_message: error.message }, 'image scan worker failed');
        return false;
      })
      .then((more) => {
        this.running--;
        this.inFlight.delete(work);
        if (more) this.kick();
      });
    this.inFlight.add(work);
    // A second free worker takes the next queued scan at once.
    if (this.running < this.settings.concurrency) queueMicrotask(() => this.kick());
  }

  private async run(scan: ImageScanRow): Promise<void> {
    const heartbeat = setInterval(() => {
      this.scans.heartbeat(scan.id).catch(() => undefined);
    }, HEARTBEAT_MS);
    heartbeat.unref();
    try {
      const auth = await this.authFor(scan.org_id, scan.registry);
      const report = await this.scanner.scan({
        registry: scan.registry,
        repository: scan.repository,
        reference: scan.digest ?? scan.tag!,
        auth,
      });
      await this.scans.succeed(scan.id, report);
    } catch (error) {
      const known = error instanceof ScanFailure;
      if (!known)
        this.logger.error({ err_message: capReason(String((error as Error).message)), scan_id: scan.id }, 'image scan failed unexpectedly');
      await this.scans.fail(scan.id, known ? error.message : 'an internal error stopped the scan (see the server log)');
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async authFor(orgId: string, registry: string): Promise<RegistryAuth | null> {
    const row = await this.credentials.forRegistry(orgId, registry);
    if (!row) return null;
    const secret = await this.cipher.decrypt(secretOf(orgId, row.id), row.secret_ciphertext);
    return row.kind === 'basic' ? { kind: 'basic', username: row.username ?? '', password: secret } : { kind: 'token', token: secret };
  }
}
