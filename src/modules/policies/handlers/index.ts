import { createPolicy } from './createPolicy';
import { deletePolicy } from './deletePolicy';
import { getPolicy } from './getPolicy';
import { getPolicyVersion } from './getPolicyVersion';
import { getWorkspacePolicy } from './getWorkspacePolicy';
import { listPolicies } from './listPolicies';
import { listPolicyVersions } from './listPolicyVersions';
import { setWorkspacePolicies } from './setWorkspacePolicies';
import { updatePolicy } from './updatePolicy';

export const policiesHandlers = {
  createPolicy,
  listPolicies,
  getPolicy,
  updatePolicy,
  deletePolicy,
  listPolicyVersions,
  getPolicyVersion,
  getWorkspacePolicy,
  setWorkspacePolicies,
};
