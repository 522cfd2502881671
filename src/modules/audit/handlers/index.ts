import { listAuditLogs } from './listAuditLogs';
import { listAuditEvents } from './listAuditEvents';
import { verifyAuditChain } from './verifyAuditChain';
import { exportAuditJsonl } from './exportAuditJsonl';
import { exportAuditCsv } from './exportAuditCsv';

export const auditHandlers = { listAuditLogs, listAuditEvents, verifyAuditChain, exportAuditJsonl, exportAuditCsv };
