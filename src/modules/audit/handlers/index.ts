import { listAuditLogs } from './listAuditLogs';
import { listAuditEvents } from './listAuditEvents';
import { verifyAuditChain } from './verifyAuditChain';
import { exportAuditJsonl } from './exportAuditJsonl';
import { exportAuditCsv } from './exportAuditCsv';
import { setAuditRetention } from './setAuditRetention';

export const auditHandlers = { listAuditLogs, listAuditEvents, verifyAuditChain, exportAuditJsonl, exportAuditCsv, setAuditRetention };
