export { AuditService } from './audit-service';
export { ComplianceService } from './compliance-service';
export { auditHandlers } from './handlers';
export { SiemExportService } from './siem-export-service';
