export { workflowsHandlers } from './handlers';
export {
  type CandidateWorkflow,
  judgeAmong,
  matches,
  NO_WORKFLOW,
  type WorkflowJudgement,
  type WorkflowSubject,
} from './workflow-matcher';
export { WorkflowService } from './workflow-service';
