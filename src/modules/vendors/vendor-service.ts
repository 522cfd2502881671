import type { components, operations } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { EnvelopeCipher, SecretContext } from '../../crypto/envelope';
import type { Db } from '../../db/db';
import { isUniqueViolation } from '../../db/errors';
import { newId } from '../../db/ids';
import { decodeCursor, pageOf } from '../../db/pagination';
import { ConflictError, NotFoundError, ValidationError } from '../../errors/api-error';
import { ExpiringCache } from '../../lib/expiring-cache';
import { DestinationRefusedError, DestinationUnresolvableError, type OutboundHttp } from '../../outbound/outbound-http';
import type { OrgService } from '../orgs';
import { checkCredential, checkedCostHeader, checkedHeaderName, lastFourOf, type VendorUpstream } from './vendor-auth';
import { type VendorRow, type VendorSettings, VendorStore } from './vendor-store';

type Vendor = components['schemas']['Vendor'];
type CreateVendorInput = operations['createVendor']['requestBody']['content']['application/json'];
type UpdateVendorInput = operations['updateVendor']['requestBody']['content']['application/json'];

const PURPOSE = 'vendor.api_key';
/** How many vendors' decrypted credentials are kept in memory, and for how long at most. */
const REMEMBERED_VENDORS = 1_000;
const REMEMBERED_MS = 60_000;

const toVendor = (row: VendorRow): Vendor => ({
  id: row.id,
  org_id: row.org_id,
  name: row.name,
  base_url: row.base_url,
  auth_type: row.auth_type,
  header_name: row.header_name,
  cost_header: row.cost_header,
  api_key_last_four: row.api_key_last_four,
  credential_rotated_at: row.credential_rotated_at?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

/** 404 for a vendor that is absent, deleted, another org's, or not the one a gateway key opens. */
export const vendorNotFound = (id: string) => new NotFoundError(`No vendor '${id}' exists in this org.`, 'VENDOR_NOT_FOUND');
const nameTaken = () => new ConflictError('The org already has a vendor with this name.', 'VENDOR_NAME_TAKEN');
const urlRefused = (reason: string) =>
  new ValidationError(`base_url ${reason}.`, 'VENDOR_URL_REFUSED', [
    { location: 'body', field: 'base_url', message: reason, rule: 'outbound' },
  ]);
const secretOf = (orgId: string, vendorId: string): SecretContext => ({ orgId, purpose: PURPOSE, rowId: vendorId });

/**
 * Vendors: upstream APIs the org's agents reach through the gateway. The credential is sealed
 * with the org's data key before it reaches the store and opened only for the gateway
 * (upstreamFor); no answer, log line or audit event carries it.
 */
export class VendorService {
  private readonly store: VendorStore;
  /** Live vendors the gateway called, credential decrypted, with the governance epoch they were read under. */
  private readonly remembered = new ExpiringCache<string, { epoch: number; upstream: VendorUpstream }>(REMEMBERED_VENDORS, REMEMBERED_MS);

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly outbound: Pick<OutboundHttp, 'destination'>,
    private readonly cipher: Pick<EnvelopeCipher, 'encrypt' | 'decrypt'>,
  ) {
    this.store = new VendorStore(db);
  }

  async create(principal: Principal, input: CreateVendorInput): Promise<Vendor> {
    const orgId = await this.orgs.scope(principal, input.org_id);
    const authType = input.auth_type ?? 'bearer';
    const settings: VendorSettings = {
      name: input.name,
      base_url: await this.checkedBaseUrl(input.base_url),
      auth_type: authType,
      header_name: checkedHeaderName(authType, input.header_name ?? null),
      cost_header: checkedCostHeader(input.cost_header ?? null),
    };
    checkCredential(authType, input.api_key);
    const id = newId('vnd');
    return this.db.transaction(async () => {
      const ciphertext = await this.cipher.encrypt(secretOf(orgId, id), input.api_key);
      try {
        const row = await this.store.insert({
          id,
          org_id: orgId,
          ...settings,
          api_key_ciphertext: ciphertext,
          api_key_last_four: lastFourOf(input.api_key),
        });
        return toVendor(row);
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken();
        throw error;
      }
    });
  }

  async list(principal: Principal, query: { limit: number; cursor?: string }) {
    const orgId = await this.orgs.scope(principal);
    const rows = await this.store.list(orgId, decodeCursor(query.cursor), query.limit + 1);
    const page = pageOf(rows, query.limit);
    return { vendors: page.items.map(toVendor), has_more: page.has_more, next_cursor: page.next_cursor };
  }

  /** The org's newest vendors, at most `limit`, without credentials (the state snapshot). */
  async inOrg(orgId: string, limit: number): Promise<Vendor[]> {
    return (await this.store.list(orgId, null, limit)).map(toVendor);
  }

  async get(principal: Principal, id: string): Promise<Vendor> {
    const row = await this.store.find(await this.orgs.scope(principal), id);
    if (!row) throw vendorNotFound(id);
    return toVendor(row);
  }

  /** Fields not given keep their values; a change of auth_type resets header_name unless the change restates it. */
  async update(principal: Principal, id: string, input: UpdateVendorInput): Promise<Vendor> {
    const orgId = await this.orgs.scope(principal);
    // Resolved before the row is locked: a slow DNS answer holds no lock.
    const baseUrl = input.base_url === undefined ? undefined : await this.checkedBaseUrl(input.base_url);
    const old = await this.store.findWithSecret(orgId, id, true);
    if (!old) throw vendorNotFound(id);
    noteBefore(toVendor(old));
    const authType = input.auth_type ?? old.auth_type;
    const headerName = input.header_name !== undefined ? input.header_name : authType === old.auth_type ? old.header_name : null;
    if (authType === 'basic' && old.auth_type !== 'basic') {
      checkCredential(authType, await this.cipher.decrypt(secretOf(orgId, id), old.api_key_ciphertext));
    }
    const settings: VendorSettings = {
      name: input.name ?? old.name,
      base_url: baseUrl ?? old.base_url,
      auth_type: authType,
      header_name: checkedHeaderName(authType, headerName),
      cost_header: checkedCostHeader(input.cost_header !== undefined ? input.cost_header : old.cost_header),
    };
    try {
      return toVendor((await this.store.update(orgId, id, settings))!);
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken();
      throw error;
    }
  }

  async rotateCredential(principal: Principal, id: string, apiKey: string): Promise<Vendor> {
    const orgId = await this.orgs.scope(principal);
    const old = await this.store.findWithSecret(orgId, id, true);
    if (!old) throw vendorNotFound(id);
    noteBefore({ api_key_last_four: old.api_key_last_four, credential_rotated_at: old.credential_rotated_at?.toISOString() ?? null });
    checkCredential(old.auth_type, apiKey);
    const ciphertext = await this.cipher.encrypt(secretOf(orgId, id), apiKey);
    return toVendor((await this.store.setCredential(orgId, id, ciphertext, lastFourOf(apiKey)))!);
  }

  /** Gateway keys for the vendor stop working with this commit: their authentication reads deleted_at. */
  async remove(principal: Principal, id: string): Promise<void> {
    const orgId = await this.orgs.scope(principal);
    const old = await this.store.findWithSecret(orgId, id, true);
    if (!old) throw vendorNotFound(id);
    noteBefore(toVendor(old));
    await this.store.markDeleted(orgId, id);
  }

  /**
   * The gateway's view of a live vendor, credential decrypted; null when absent, deleted or
   * another org's. `epoch`: the org's governance epoch the caller has verified as current (its
   * budget reservation did), so a vendor remembered under that same epoch has not changed since;
   * without one, or remembered under another, it is read again. The decrypted credential is held
   * in memory only (bounded in number and time), never logged.
   */
  async upstreamFor(orgId: string, vendorId: string, epoch: number | null = null): Promise<VendorUpstream | null> {
    const cacheKey = `${orgId}/${vendorId}`;
    const remembered = epoch === null ? undefined : this.remembered.get(cacheKey);
    if (remembered && remembered.epoch === epoch) return remembered.upstream;
    const row = await this.store.findUpstream(orgId, vendorId);
    if (!row) return null;
    const upstream: VendorUpstream = {
      id: row.id,
      orgId: row.org_id,
      baseUrl: row.base_url,
      authType: row.auth_type,
      headerName: row.header_name,
      apiKey: await this.cipher.decrypt(secretOf(orgId, vendorId), row.api_key_ciphertext),
      costHeader: row.cost_header,
    };
    // Inside a transaction the read may see its own uncommitted change, whose epoch bump comes only at commit.
    if (!this.db.inTransaction) this.remembered.set(cacheKey, { epoch: Number(row.epoch), upstream });
    return upstream;
  }

  /** Throws 404 unless the org has this live vendor. */
  async assertInOrg(orgId: string, vendorId: string): Promise<void> {
    if (!(await this.store.find(orgId, vendorId))) throw vendorNotFound(vendorId);
  }

  /**
   * An https URL (http only for allow-listed hosts) with no credentials, query or fragment, whose
   * host resolves only to addresses the outbound policy allows; stored without a trailing slash.
   */
  private async checkedBaseUrl(raw: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw urlRefused('is not a valid absolute URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw urlRefused(`must use https, not ${url.protocol}`);
    if (url.search !== '' || raw.includes('?')) throw urlRefused('must not carry a query (the gateway appends the call’s own)');
    if (url.hash !== '' || raw.includes('#')) throw urlRefused('must not carry a fragment');
    if (url.username || url.password) throw urlRefused('must not carry a user name or password (give the credential as api_key)');
    const normalized = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    try {
      await this.outbound.destination(normalized);
    } catch (error) {
      if (error instanceof DestinationRefusedError || error instanceof DestinationUnresolvableError) throw urlRefused(error.message);
      throw error;
    }
    return normalized;
  }
}
