import { listAuditLogs } from './listAuditLogs';
import { listAuditEvents } from './listAuditEvents';
import { verifyAuditChain } from './verifyAuditChain';
import { exportAuditJsonl } from './exportAuditJsonl';
import { exportAuditCsv } from './exportAuditCsv';
import { exportAuditLogsToDatadog } from './exportAuditLogsToDatadog';
import { exportAuditLogsToSplunk } from './exportAuditLogsToSplunk';
import { exportAuditLogsToPagerDuty } from './exportAuditLogsToPagerDuty';
import { setAuditRetention } from './setAuditRetention';
import { getComplianceReport } from './getComplianceReport';

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
