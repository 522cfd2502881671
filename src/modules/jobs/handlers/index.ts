import { claimAgentJob } from './claimAgentJob';
import { completeAgentJob } from './completeAgentJob';
import { createJob } from './createJob';
import { getJob } from './getJob';
import { listJobs } from './listJobs';

export const jobsHandlers = {
  claimAgentJob,
  completeAgentJob,
  createJob,
  listJobs,
  getJob,
};
