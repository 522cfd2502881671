import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CandidateWorkflow, judgeAmong, matches, NO_WORKFLOW, type WorkflowSubject } from '../../src/modules/workflows';

const SUBJECT: WorkflowSubject = {
  projectId: 'ws_a',
  environmentId: 'env_prod',
  environmentName: 'Production',
  environmentVerified: true,
  kind: 'patch',
  labels: { team: 'payments', compliance: 'pci' },
};

const workflow = (id: string, overrides: Partial<CandidateWorkflow> = {}): CandidateWorkflow => ({
  id,
  version: 1,
  priority: 0,
  createdAt: new Date('2026-11-01T00:00:00Z'),
  match: {},
  requiredApprovals: 1,
  approverRoles: [],
  autoApprove: false,
  ...overrides,
});

describe('workflow matching', () => {
  it('an empty match, or empty criteria, fit every request', () => {
    assert.ok(matches({}, SUBJECT));
    assert.ok(matches({ project_ids: [], environment_ids: [], environment_names: [], kinds: [], labels: {} }, SUBJECT));
  });

  it('every criterion given must hold; any entry of a list may', () => {
    assert.ok(matches({ project_ids: ['ws_b', 'ws_a'], kinds: ['read', 'patch'] }, SUBJECT));
    assert.ok(!matches({ project_ids: ['ws_a'], kinds: ['read'] }, SUBJECT));
    assert.ok(matches({ environment_ids: ['env_prod'] }, SUBJECT));
    assert.ok(!matches({ environment_ids: ['env_dev'] }, SUBJECT));
  });

  it('environment names compare without case', () => {
    assert.ok(matches({ environment_names: ['production'] }, SUBJECT));
    assert.ok(!matches({ environment_names: ['prod'] }, SUBJECT));
  });

  it('an environment the secret does not vouch for satisfies no environment criterion', () => {
    const unverified = { ...SUBJECT, environmentVerified: false };
    assert.ok(!matches({ environment_names: ['production'] }, unverified));
    assert.ok(!matches({ environment_ids: ['env_prod'] }, unverified));
    assert.ok(matches({ environment_names: [], environment_ids: [] }, unverified), 'empty criteria still hold');
    assert.ok(matches({ project_ids: ['ws_a'], kinds: ['patch'] }, unverified), 'other criteria are unaffected');
    const autoDev = workflow('wf_auto', { priority: 9, autoApprove: true, match: { environment_names: ['production'] } });
    const plain = workflow('wf_plain', { priority: 1, requiredApprovals: 2 });
    assert.equal(judgeAmong([autoDev], unverified).autoApprove, false);
    assert.deepEqual(judgeAmong([autoDev], unverified), NO_WORKFLOW);
    assert.equal(judgeAmong([autoDev, plain], unverified).workflowId, 'wf_plain');
    assert.equal(judgeAmong([autoDev, plain], SUBJECT).workflowId, 'wf_auto');
  });

  it('labels fit when the request carries each with the same value', () => {
    assert.ok(matches({ labels: { team: 'payments' } }, SUBJECT));
    assert.ok(matches({ labels: { team: 'payments', compliance: 'pci' } }, SUBJECT));
    assert.ok(!matches({ labels: { team: 'payments', owner: 'x' } }, SUBJECT));
    assert.ok(!matches({ labels: { team: 'ledger' } }, SUBJECT));
    // Inherited properties are not labels.
    assert.ok(!matches({ labels: { constructor: 'x' } }, { ...SUBJECT, labels: {} }));
    assert.ok(!matches({ labels: { toString: '' } }, { ...SUBJECT, labels: {} }));
  });
});

describe('judging among workflows', () => {
  it('no workflow fitting: one approval from anyone who may approve', () => {
    assert.deepEqual(judgeAmong([], SUBJECT), NO_WORKFLOW);
    assert.deepEqual(judgeAmong([workflow('wf_read', { match: { kinds: ['read'] } })], SUBJECT), {
      workflowId: null,
      workflowVersion: null,
      requiredApprovals: 1,
      approverRoles: [],
      autoApprove: false,
    });
  });

  it('the highest priority fitting workflow wins, whatever the order given', () => {
    const low = workflow('wf_low', { priority: 1, requiredApprovals: 1 });
    const high = workflow('wf_high', { priority: 9, version: 4, requiredApprovals: 2, approverRoles: ['security'] });
    const higherButElsewhere = workflow('wf_dev', { priority: 99, match: { environment_names: ['dev'] } });
    for (const order of [
      [low, high, higherButElsewhere],
      [higherButElsewhere, high, low],
    ]) {
      assert.deepEqual(judgeAmong(order, SUBJECT), {
        workflowId: 'wf_high',
        workflowVersion: 4,
        requiredApprovals: 2,
        approverRoles: ['security'],
        autoApprove: false,
      });
    }
  });

  it('on a tie the oldest workflow wins, then the lower id', () => {
    const older = workflow('wf_z', { createdAt: new Date('2026-01-01T00:00:00Z') });
    const newer = workflow('wf_a', { createdAt: new Date('2026-06-01T00:00:00Z') });
    assert.equal(judgeAmong([newer, older], SUBJECT).workflowId, 'wf_z');
    assert.equal(judgeAmong([workflow('wf_b'), workflow('wf_a')], SUBJECT).workflowId, 'wf_a');
  });

  it('auto-approve means no approvals', () => {
    const auto = workflow('wf_auto', { autoApprove: true, requiredApprovals: 0 });
    assert.deepEqual(judgeAmong([auto], SUBJECT), {
      workflowId: 'wf_auto',
      workflowVersion: 1,
      requiredApprovals: 0,
      approverRoles: [],
      autoApprove: true,
    });
  });

  it('hands out copies: a caller changing the judgement changes nothing shared', () => {
    const roles = ['security'];
    const judged = judgeAmong([workflow('wf_x', { approverRoles: roles })], SUBJECT);
    judged.approverRoles.push('admin');
    assert.deepEqual(roles, ['security']);
    const none = judgeAmong([], SUBJECT);
    none.approverRoles.push('admin');
    assert.deepEqual(NO_WORKFLOW.approverRoles, []);
  });
});
