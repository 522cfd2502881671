import type { Handler } from '../../handler';
import { complianceMarkdown } from '../compliance-markdown';

export const getComplianceReport: Handler<'getComplianceReport'> = async ({ services, principal, params, query }) => {
  const report = await services.compliance.report(principal, params.id, params.workspace_id, query.frameworks ?? ['soc2', 'hipaa']);
  return query.format === 'markdown'
    ? { status: 200, body: complianceMarkdown(report), headers: { 'Content-Type': 'text/markdown; charset=utf-8' } }
    : { status: 200, body: report };
};
