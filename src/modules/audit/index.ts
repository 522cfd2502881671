export { auditHandlers } from './handlers';
export { AuditService } from './audit-service';
export { ComplianceService } from './compliance-service';
export { SiemExportService } from './siem-export-service';
