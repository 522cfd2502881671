import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach } from 'node:test';
import { chainHash } from '../../src/audit/audit-chain';
import { loadConfig } from '../../src/config/config';
import { type HttpReceiver, startHttpReceiver } from './http-receiver';
import { createOrg, type TestOrg } from './identity';
import { startTestApp, type TestApp } from './test-app';

/** Receivers on 127.0.0.1, short timeouts, and the test CA of the https receiver trusted. */
export const TEST_CA = join(__dirname, '..', 'fixtures', 'tls', 'self-signed-cert.pem');
export const OUTBOUND = { allowedHosts: ['127.0.0.1'], timeoutMs: 400, retryBaseMs: 10, caFile: TEST_CA };
export const DD_KEY = 'dd-test-api-key-0123456789abcdef';
export const HEC_TOKEN = 'splunk-hec-token-0123456789abcdef';
export const ROUTING_KEY = 'pd-routing-key-0123456789abcdefgh';

export interface ExportedEvent {
  id: string;
  seq: number;
  action: string;
  workspace_id: string | null;
  prev_hash: string;
  hash: string;
  [field: string]: unknown;
}

/** An exported event still verifies against its own hashes: SIEM copies can be re-checked. */
export function assertVerifies(event: ExportedEvent): void {
  const { prev_hash: prevHash, hash, ...fields } = event;
  assert.equal(chainHash(Buffer.from(prevHash, 'hex'), fields as never).toString('hex'), hash);
}

/** What the SIEM export tests share: an app whose outbound calls may reach the receiver, and an org with events to export. */
interface SiemFixture {
  warden: TestApp;
  receiver: HttpReceiver;
  org: TestOrg;
  key: { 'X-API-Key': string };
  workspaceId: string;
}

/** Registers the suite's hooks: the app and receiver start before its tests, the receiver forgets between tests. */
export function siemFixture() {
  const fixture = {} as SiemFixture;
  before(async () => {
    fixture.receiver = await startHttpReceiver();
    const defaults = loadConfig({});
    fixture.warden = await startTestApp({
      config: { outbound: OUTBOUND, siem: { ...defaults.siem } },
    });
    fixture.org = await createOrg(fixture.warden, 'professional');
    fixture.key = { 'X-API-Key': fixture.org.key };
    const { warden, key, org } = fixture;
    const ws = await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Prod' }).expect(201);
    fixture.workspaceId = ws.body.id;
    for (const name of ['alpha', 'beta', 'gamma']) {
      await warden.request.post(`/api/v1/workspaces/${fixture.workspaceId}/environments`).set(key).send({ name }).expect(201);
    }
    await warden.request.post(`/api/v1/orgs/${org.id}/workspaces`).set(key).send({ name: 'Other' }).expect(201);
  });
  beforeEach(() => fixture.receiver.reset());
  after(async () => {
    await fixture.receiver.close();
    await fixture.warden.close();
  });
  return Object.assign(fixture, {
    siemEvents: (orgId: string) =>
      fixture.warden.auditRows(`SELECT * FROM audit_events WHERE org_id = $1 AND action = 'audit.siem_exported' ORDER BY seq`, [orgId]),
  });
}
