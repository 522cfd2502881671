import { listAuditLogs } from './listAuditLogs';
import { listAuditEvents } from './listAuditEvents';
import { verifyAuditChain } from './verifyAuditChain';

export const auditHandlers = { listAuditLogs, listAuditEvents, verifyAuditChain };
