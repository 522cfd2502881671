import { createWorkflow } from './createWorkflow';
import { deleteWorkflow } from './deleteWorkflow';
import { getWorkflow } from './getWorkflow';
import { listWorkflows } from './listWorkflows';
import { updateWorkflow } from './updateWorkflow';

export const workflowsHandlers = {
  createWorkflow,
  listWorkflows,
  getWorkflow,
  updateWorkflow,
  deleteWorkflow,
};
