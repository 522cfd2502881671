import { exportAuditCsv } from './exportAuditCsv';
import { exportAuditJsonl } from './exportAuditJsonl';
import { exportAuditLogsToDatadog } from './exportAuditLogsToDatadog';
import { exportAuditLogsToPagerDuty } from './exportAuditLogsToPagerDuty';
import { exportAuditLogsToSplunk } from './exportAuditLogsToSplunk';
import { getComplianceReport } from './getComplianceReport';
import { listAuditEvents } from './listAuditEvents';
import { listAuditLogs } from './listAuditLogs';
import { setAuditRetention } from './setAuditRetention';
import { verifyAuditChain } from './verifyAuditChain';

export const auditHandlers = {
  listAuditLogs,
  listAuditEvents,
  verifyAuditChain,
  exportAuditJsonl,
  exportAuditCsv,
  exportAuditLogsToDatadog,
  exportAuditLogsToSplunk,
  exportAuditLogsToPagerDuty,
  setAuditRetention,
  getComplianceReport,
};
