import { approveAccessRequest } from './approveAccessRequest';
import { cancelAccessRequest } from './cancelAccessRequest';
import { createPatchRequest } from './createPatchRequest';
import { createReadRequest } from './createReadRequest';
import { getAccessRequest } from './getAccessRequest';
import { listAccessRequests } from './listAccessRequests';
import { rejectAccessRequest } from './rejectAccessRequest';

export const accessRequestsHandlers = {
  createPatchRequest,
  createReadRequest,
  listAccessRequests,
  getAccessRequest,
  approveAccessRequest,
  rejectAccessRequest,
  cancelAccessRequest,
};
