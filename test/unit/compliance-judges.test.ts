import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONTROLS, type Evidence } from '../../src/modules/audit/compliance-service';

const NOW = '2026-06-01T12:00:00.000Z';
const HOURS_AGO = (hours: number) => new Date(Date.parse(NOW) - hours * 3_600_000).toISOString();

/** A healthy agent: registered key, one live installation leasing, a verified chain with its registration. */
const HEALTHY: Evidence = {
  generated_at: NOW,
  organization_id: 'org_1',
  workspace_id: 'ws_1',
  frameworks: ['soc2', 'hipaa'],
  agent: {
    id: 'agt_1',
    sekuire_id: 'a'.repeat(64),
    did: `did:sekuire:${'a'.repeat(64)}`,
    name: 'bot',
    version: '1.0.0',
    identity: 'registered_key',
    status: 'active',
    public_key_fingerprint: 'SHA256:abc',
    created_at: HOURS_AGO(100),
    disabled_reason: null,
    disabled_until: null,
    revoked_at: null,
  },
  credentials: {
    agent_secret_issued: false,
    install_tokens: { issued: 1, used: 1, outstanding: 0, expired_unused: 0 },
    runtime_tokens: { active: 1, expiring_within_7_days: 0 },
    refresh: { rotations: 2, last_rotated_at: HOURS_AGO(1), reuse_detected: 0 },
  },
  installations: [
    {
      id: 'inst_1',
      status: 'active',
      created_at: HOURS_AGO(50),
      token_version: 3,
      last_refreshed_at: HOURS_AGO(1),
      last_lease_at: HOURS_AGO(0.1),
      lease_expires_at: HOURS_AGO(-0.1),
      revoked_at: null,
      revoke_reason: null,
    },
  ],
  revocations: [],
  audit: {
    events: 3,
    first_at: HOURS_AGO(100),
    last_at: HOURS_AGO(0.1),
    by_action: { 'agent.registered': 1, 'installation.leased': 2 },
    recent: [],
    chain: { valid: true, org_id: 'org_1', events_checked: 3, head_seq: 3, first_broken_seq: null, reason: null, checkpoint: null },
  },
};

type Change = (evidence: Evidence) => Evidence;
const changed = (change: Change): Evidence => change(structuredClone(HEALTHY));
const killed: Change = (evidence) => ({
  ...evidence,
  agent: { ...evidence.agent, status: 'disabled', disabled_reason: 'compromised' },
  revocations: [{ kind: 'agent_disabled', id: 'agt_1', at: HOURS_AGO(2), reason: 'compromised' }],
});
const installation = (evidence: Evidence, status: Evidence['installations'][number]['status'], createdHoursAgo = 50): Evidence => ({
  ...evidence,
  installations: [{ ...evidence.installations[0]!, status, created_at: HOURS_AGO(createdHoursAgo) }],
});

/** [situation, evidence, control → expected status]. */
const CASES: Array<[string, Evidence, Record<string, 'satisfied' | 'attention' | 'not_applicable'>]> = [
  [
    'a healthy agent',
    HEALTHY,
    {
      'CC6.1': 'satisfied',
      'CC6.2': 'satisfied',
      'CC6.3': 'not_applicable',
      'CC7.2': 'satisfied',
      'CC7.3': 'satisfied',
      'CC8.1': 'satisfied',
      '164.312(a)(1)': 'satisfied',
      '164.312(b)': 'satisfied',
      '164.312(c)(1)': 'satisfied',
      '164.308(a)(1)(ii)(D)': 'satisfied',
      '164.308(a)(3)(ii)(C)': 'not_applicable',
      '164.312(a)(2)(i)': 'satisfied',
      '164.312(d)': 'satisfied',
      '164.308(a)(6)(ii)': 'satisfied',
    },
  ],
  [
    'killed, but its installation still holds a current lease',
    changed((evidence) => killed(evidence)),
    {
      'CC6.3': 'attention',
      '164.308(a)(3)(ii)(C)': 'attention',
      '164.312(a)(1)': 'attention',
    },
  ],
  [
    'killed, and its installation stopped',
    changed((evidence) => installation(killed(evidence), 'revoked')),
    {
      'CC6.3': 'satisfied',
      'CC7.2': 'not_applicable',
    },
  ],
  [
    'its installation went stale',
    changed((evidence) => installation(evidence, 'stale')),
    { 'CC7.2': 'attention', '164.308(a)(1)(ii)(D)': 'attention' },
  ],
  ['pending for over a day', changed((evidence) => installation(evidence, 'pending', 25)), { 'CC7.2': 'attention' }],
  ['pending for less than a day', changed((evidence) => installation(evidence, 'pending', 23)), { 'CC7.2': 'satisfied' }],
  [
    'no installation at all',
    changed((evidence) => ({ ...evidence, installations: [] })),
    { 'CC7.2': 'not_applicable', '164.308(a)(1)(ii)(D)': 'satisfied' },
  ],
  [
    'a refresh token was reused',
    changed((evidence) => ({
      ...evidence,
      credentials: { ...evidence.credentials, refresh: { ...evidence.credentials.refresh, reuse_detected: 2 } },
    })),
    { 'CC7.3': 'attention', '164.308(a)(6)(ii)': 'attention' },
  ],
  [
    'the chain is broken',
    changed((evidence) => ({
      ...evidence,
      audit: { ...evidence.audit, chain: { ...evidence.audit.chain, valid: false, first_broken_seq: 2, reason: 'edited' } },
    })),
    { 'CC8.1': 'attention', '164.312(c)(1)': 'attention', '164.312(b)': 'satisfied' },
  ],
  [
    'no audit event is retained',
    changed((evidence) => ({ ...evidence, audit: { ...evidence.audit, events: 0, first_at: null, last_at: null, by_action: {} } })),
    {
      'CC6.2': 'attention',
      'CC8.1': 'attention',
      '164.312(b)': 'attention',
      '164.312(c)(1)': 'satisfied',
    },
  ],
  [
    'a minted agent',
    changed((evidence) => ({
      ...evidence,
      agent: { ...evidence.agent, identity: 'minted_secret', public_key_fingerprint: null },
      audit: { ...evidence.audit, by_action: { 'agent.minted': 1 } },
    })),
    { 'CC6.1': 'satisfied', 'CC6.2': 'satisfied', '164.312(d)': 'satisfied' },
  ],
];

describe("compliance judges: each control's status from the evidence", () => {
  for (const [situation, evidence, expected] of CASES) {
    for (const [control, status] of Object.entries(expected)) {
      it(`${situation}: ${control} is ${status}`, () => {
        const rule = CONTROLS.find((candidate) => candidate.control === control);
        assert.ok(rule, control);
        const judgement = rule.judge(evidence);
        assert.equal(judgement.status, status, judgement.evidence.join('\n'));
        assert.ok(judgement.evidence.length > 0 && judgement.evidence.length <= 10);
      });
    }
  }

  it('every control of both frameworks is judged in the table above', () => {
    const judged = new Set(CASES.flatMap(([, , expected]) => Object.keys(expected)));
    assert.deepEqual(
      CONTROLS.filter((rule) => !judged.has(rule.control)).map((rule) => rule.control),
      [],
    );
  });
});
