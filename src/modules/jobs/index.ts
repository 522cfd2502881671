export { jobsHandlers } from './handlers';
export { type ClusterDirectory, type Job, type JobLifecycle, type JobOptions, JobService } from './job-service';
