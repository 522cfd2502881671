import { createAgentWrap } from './createAgentWrap';
import { issueAgentDek } from './issueAgentDek';
import { listRequestWraps } from './listRequestWraps';
import { retrieveAgentWrap } from './retrieveAgentWrap';
import { retrieveRequestWrap } from './retrieveRequestWrap';

export const wrapsHandlers = {
  issueAgentDek,
  createAgentWrap,
  retrieveAgentWrap,
  listRequestWraps,
  retrieveRequestWrap,
};
