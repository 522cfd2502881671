import type { components } from '../../../generated/api';

type WorkflowMatch = components['schemas']['WorkflowMatch'];

/** What an access request is, as a workflow's `match` reads it. */
export interface WorkflowSubject {
  projectId: string;
  environmentId: string;
  environmentName: string;
  /** Whether the secret vouches for the environment (its `environment`/`env` label); the requester alone names it otherwise. */
  environmentVerified: boolean;
  kind: 'read' | 'patch';
  labels: Record<string, string>;
}

/** How a request is to be approved, and under which workflow version (null: none matched). */
export interface WorkflowJudgement {
  workflowId: string | null;
  workflowVersion: number | null;
  requiredApprovals: number;
  approverRoles: string[];
  autoApprove: boolean;
}

/** A live workflow at its current version, as judging needs it. */
export interface CandidateWorkflow {
  id: string;
  version: number;
  priority: number;
  createdAt: Date;
  match: WorkflowMatch;
  requiredApprovals: number;
  approverRoles: string[];
  autoApprove: boolean;
}

/** No workflow fits: the secure default is one approval, from anyone who may approve. */
export const NO_WORKFLOW: WorkflowJudgement = Object.freeze({
  workflowId: null,
  workflowVersion: null,
  requiredApprovals: 1,
  approverRoles: [],
  autoApprove: false,
});

/** An absent or empty criterion holds for everything; a given one holds when any of its entries does. */
const anyOf = <T>(entries: T[] | undefined, holds: (entry: T) => boolean) => !entries || entries.length === 0 || entries.some(holds);

/**
 * Whether the match fits the subject: every criterion given holds (AND), any entry of a list
 * (OR); environment names case-insensitively; labels when the subject carries each with that value.
 * An environment the secret does not vouch for satisfies no environment criterion: the requester
 * names it, so it must not earn a workflow's (possibly automatic) approval.
 */
export function matches(match: WorkflowMatch, subject: WorkflowSubject): boolean {
  const environmentName = subject.environmentName.toLowerCase();
  const verified = subject.environmentVerified;
  return (
    anyOf(match.project_ids, (id) => id === subject.projectId) &&
    anyOf(match.environment_ids, (id) => verified && id === subject.environmentId) &&
    anyOf(match.environment_names, (name) => verified && name.toLowerCase() === environmentName) &&
    anyOf(match.kinds, (kind) => kind === subject.kind) &&
    Object.entries(match.labels ?? {}).every(([key, value]) => Object.hasOwn(subject.labels, key) && subject.labels[key] === value)
  );
}

/** Highest priority first; on a tie the oldest workflow, then the lower id, so the answer never depends on row order. */
const precedence = (a: CandidateWorkflow, b: CandidateWorkflow) =>
  b.priority - a.priority || a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** The judgement of the workflow that wins for the subject, or NO_WORKFLOW's. */
export function judgeAmong(candidates: CandidateWorkflow[], subject: WorkflowSubject): WorkflowJudgement {
  const winner = [...candidates].sort(precedence).find((candidate) => matches(candidate.match, subject));
  if (!winner) return { ...NO_WORKFLOW, approverRoles: [] };
  return {
    workflowId: winner.id,
    workflowVersion: winner.version,
    requiredApprovals: winner.autoApprove ? 0 : winner.requiredApprovals,
    approverRoles: [...winner.approverRoles],
    autoApprove: winner.autoApprove,
  };
}
