import type { components, operations } from '../../../generated/api';
import { actorOf, currentRequestFacts, type NewAuditEvent } from '../../audit/audit-event';
import type { Principal } from '../../auth/principal';
import type { SiemConfig } from '../../config/config';
import { ApiError, BadGatewayError, ValidationError } from '../../errors/api-error';
import { canonicalJson } from '../../lib/canonical-json';
import { type Destination, DestinationRefusedError, DestinationUnresolvableError, type OutboundHttp } from '../../outbound/outbound-http';
import type { AuditService } from './audit-service';

type AuditEvent = components['schemas']['AuditEvent'];
type ExportResult = components['schemas']['SiemExportResult'];
type Vendor = ExportResult['vendor'];
type DatadogExport = operations['exportAuditLogsToDatadog']['requestBody']['content']['application/json'];
type SplunkExport = operations['exportAuditLogsToSplunk']['requestBody']['content']['application/json'];
type PagerDutyExport = operations['exportAuditLogsToPagerDuty']['requestBody']['content']['application/json'];

/** How one vendor's intake takes events: the encoding of one event, of a batch, and its limits. */
interface IntakeFormat {
  maxEvents: number;
  maxBytes: number;
  headers: Record<string, string>;
  encode(event: AuditEvent): string;
  batch(encoded: string[]): string;
}

/** What every export request names, whatever the vendor. */
interface Selection {
  organization_id?: string;
  workspace_id?: string;
  event_type?: string;
  limit?: number;
  intake_url?: string;
}

/** Per vendor: the body's credential field, and the server's fallback credential and intake (with their variables). */
const CREDENTIALS = {
  datadog: {
    field: 'api_key',
    secret: 'datadogApiKey',
    intake: 'datadogIntakeUrl',
    secretVariable: 'DATADOG_API_KEY',
    intakeVariable: 'DATADOG_INTAKE_URL',
  },
  splunk: {
    field: 'hec_token',
    secret: 'splunkHecToken',
    intake: 'splunkHecUrl',
    secretVariable: 'SPLUNK_HEC_TOKEN',
    intakeVariable: 'SPLUNK_HEC_URL',
  },
  pagerduty: {
    field: 'routing_key',
    secret: 'pagerdutyRoutingKey',
    intake: 'pagerdutyEventsUrl',
    secretVariable: 'PAGERDUTY_ROUTING_KEY',
    intakeVariable: 'PAGERDUTY_EVENTS_URL',
  },
} as const satisfies Record<
  Vendor,
  { field: string; secret: keyof SiemConfig; intake: keyof SiemConfig; secretVariable: string; intakeVariable: string }
>;

const DEFAULT_LIMIT = 100;
const MAX_REPORTED_ERRORS = 100;

/**
 * Sends the org's audit events to a SIEM in the vendor's own intake format: Datadog Logs API v2,
 * Splunk HEC, PagerDuty Events API v2. Every call goes through OutboundHttp (checked address,
 * no redirects, timeouts, retries); the export itself is recorded in the audit log.
 */
export class SiemExportService {
  constructor(
    private readonly audit: Pick<AuditService, 'chainOf' | 'page' | 'record'>,
    private readonly outbound: OutboundHttp,
    private readonly config: SiemConfig,
  ) {}

  toDatadog(principal: Principal, body: DatadogExport): Promise<ExportResult> {
    const tags = (body.tags ?? []).join(',');
    return this.export(principal, 'datadog', body, body.api_key, (apiKey) => ({
      maxEvents: 1000,
      maxBytes: 5 * 1024 * 1024,
      headers: { 'Content-Type': 'application/json', 'DD-API-KEY': apiKey },
      encode: (event) =>
        JSON.stringify({
          ddsource: body.source ?? 'warden',
          ddtags: tags,
          hostname: 'warden',
          service: body.service ?? 'warden.audit',
          status: event.outcome === 'success' ? 'info' : 'warn',
          date: event.occurred_at,
          message: canonicalJson(event),
        }),
      batch: (encoded) => `[${encoded.join(',')}]`,
    }));
  }

  toSplunk(principal: Principal, body: SplunkExport): Promise<ExportResult> {
    return this.export(principal, 'splunk', body, body.hec_token, (token) => ({
      maxEvents: 500,
      maxBytes: 1024 * 1024,
      headers: { 'Content-Type': 'application/json', Authorization: `Splunk ${token}` },
      encode: (event) =>
        JSON.stringify({
          time: Date.parse(event.occurred_at) / 1000,
          host: body.host ?? 'warden',
          source: body.source ?? 'warden:audit',
          sourcetype: body.sourcetype ?? '_json',
          ...(body.index ? { index: body.index } : {}),
          event,
          ...(body.tags?.length ? { fields: { tags: body.tags } } : {}),
        }),
      batch: (encoded) => encoded.join('\n'),
    }));
  }

  toPagerDuty(principal: Principal, body: PagerDutyExport): Promise<ExportResult> {
    const action = body.event_action ?? 'trigger';
    return this.export(principal, 'pagerduty', body, body.routing_key, (routingKey) => ({
      maxEvents: 1,
      maxBytes: 512 * 1024,
      headers: { 'Content-Type': 'application/json' },
      encode: (event) =>
        JSON.stringify({
          routing_key: routingKey,
          event_action: action,
          dedup_key: `${body.dedup_key_prefix ?? 'warden-audit'}-${event.id}`,
          // Acknowledge and resolve address an alert by its dedup key and carry no payload.
          ...(action === 'trigger'
            ? {
                payload: {
                  summary: summaryOf(event),
                  source: body.source ?? 'warden.audit',
                  severity: body.severity ?? 'info',
                  timestamp: event.occurred_at,
                  ...(body.component ? { component: body.component } : {}),
                  ...(body.group ? { group: body.group } : {}),
                  ...(body.class ? { class: body.class } : {}),
                  custom_details: { ...event, ...(body.tags?.length ? { tags: body.tags } : {}) },
                },
              }
            : {}),
        }),
      batch: (encoded) => encoded[0]!,
    }));
  }

  private async export(
    principal: Principal,
    vendor: Vendor,
    selection: Selection,
    givenCredential: string | undefined,
    format: (credential: string) => IntakeFormat,
  ): Promise<ExportResult> {
    const orgId = await this.audit.chainOf(principal, selection.organization_id);
    const names = CREDENTIALS[vendor];
    const intakeUrl = selection.intake_url ?? this.config[names.intake];
    if (intakeUrl === undefined) {
      throw invalid('SIEM_INTAKE_REQUIRED', 'intake_url', `No intake: give intake_url, or set ${names.intakeVariable} on the server.`);
    }
    const credential = this.credential(vendor, givenCredential, selection.intake_url);
    const record = (outcome: NewAuditEvent['outcome'], details: Record<string, unknown>) =>
      this.audit.record({
        orgId,
        actor: actorOf(principal),
        workspaceId: selection.workspace_id ?? null,
        action: 'audit.siem_exported',
        resourceType: 'siem',
        resourceId: vendor,
        outcome,
        ...currentRequestFacts(),
        details: { vendor, intake_host: hostOf(intakeUrl), event_type: selection.event_type ?? null, ...details },
      });
    let destination: Destination;
    try {
      destination = await this.destination(intakeUrl);
    } catch (error) {
      // A refused destination may be a probe of Warden's network, and an unresolvable one an outage: both are kept.
      if (error instanceof ApiError)
        await record(error instanceof ValidationError ? 'denied' : 'failure', { selected: 0, sent: 0, failed: 0, error: error.code });
      throw error;
    }
    const intake = format(credential);

    const { events: newestFirst } = await this.audit.page(orgId, {
      workspace_id: selection.workspace_id,
      action: selection.event_type,
      limit: selection.limit ?? DEFAULT_LIMIT,
    });
    const events = newestFirst.reverse();
    const result: ExportResult = {
      vendor,
      organization_id: orgId,
      intake_url: `${destination.url.origin}${destination.url.pathname}`,
      selected: events.length,
      sent: 0,
      failed: 0,
      batches: 0,
      first_seq: events[0]?.seq ?? null,
      last_seq: events[events.length - 1]?.seq ?? null,
      errors: [],
    };
    // A slow or failing intake must not hold the request for the sum of every batch's retries.
    const deadline = Date.now() + this.config.exportTimeoutMs;
    const pending = [...batches(events, intake)];
    for (const [index, batch] of pending.entries()) {
      if (Date.now() >= deadline) {
        const unsent = pending.slice(index).reduce((sum, rest) => sum + rest.length, 0);
        result.failed += unsent;
        result.errors.push({
          batch: index + 1,
          events: unsent,
          attempts: 0,
          status: null,
          reason: `not sent: the export's ${this.config.exportTimeoutMs} ms were spent`,
        });
        break;
      }
      result.batches++;
      const delivery = await this.outbound.post(destination, intake.headers, intake.batch(batch));
      if (delivery.ok) {
        result.sent += batch.length;
        continue;
      }
      result.failed += batch.length;
      // One place stays free for the entry of batches left unsent when time runs out.
      if (result.errors.length < MAX_REPORTED_ERRORS - 1) {
        result.errors.push({
          batch: result.batches,
          events: batch.length,
          attempts: delivery.attempts,
          status: delivery.status,
          reason: delivery.reason,
        });
      }
    }

    await record(result.failed === 0 ? 'success' : 'failure', { selected: result.selected, sent: result.sent, failed: result.failed });
    if (result.selected > 0 && result.sent === 0) {
      throw new BadGatewayError(
        `The intake accepted none of the ${result.selected} events: ${result.errors[0]!.reason} from ${destination.url.host}.`,
        'SIEM_DELIVERY_FAILED',
        result.errors.slice(0, 20).map((error) => ({
          location: 'upstream' as const,
          field: `batch ${error.batch}`,
          message: `${error.reason} after ${error.attempts} attempt${error.attempts === 1 ? '' : 's'}`,
          rule: 'delivery',
        })),
      );
    }
    return result;
  }

  /**
   * The body's credential, else the server's, which only ever goes to the server's own intake:
   * otherwise anyone allowed to export could send it to a URL of their choosing.
   */
  private credential(vendor: Vendor, given: string | undefined, givenIntake: string | undefined): string {
    if (given !== undefined) return given;
    const names = CREDENTIALS[vendor];
    const configured = this.config[names.secret];
    if (configured === undefined) {
      throw invalid('SIEM_CREDENTIAL_REQUIRED', names.field, `Give ${names.field}, or set ${names.secretVariable} on the server.`);
    }
    if (givenIntake !== undefined && !sameUrl(givenIntake, this.config[names.intake])) {
      throw invalid(
        'SIEM_CREDENTIAL_REQUIRED',
        names.field,
        `A custom intake_url needs its own ${names.field}: the server's credential is only sent to ${names.intakeVariable}.`,
      );
    }
    return configured;
  }

  private async destination(intakeUrl: string): Promise<Destination> {
    try {
      return await this.outbound.destination(intakeUrl);
    } catch (error) {
      if (error instanceof DestinationRefusedError) {
        throw invalid('DESTINATION_NOT_ALLOWED', 'intake_url', `The intake URL ${error.message}.`, 'destination');
      }
      if (error instanceof DestinationUnresolvableError) {
        throw new BadGatewayError(`The intake cannot be reached: ${error.message}.`, 'DESTINATION_UNRESOLVABLE');
      }
      throw error;
    }
  }
}

/** Consecutive runs of events that fit the intake's count and size limits (an oversized event goes alone). */
function* batches(events: AuditEvent[], intake: IntakeFormat): Generator<string[]> {
  let batch: string[] = [];
  let bytes = 2;
  for (const event of events) {
    const encoded = intake.encode(event);
    const size = Buffer.byteLength(encoded) + 1;
    if (batch.length > 0 && (batch.length >= intake.maxEvents || bytes + size > intake.maxBytes)) {
      yield batch;
      batch = [];
      bytes = 2;
    }
    batch.push(encoded);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

function summaryOf(event: AuditEvent): string {
  const resource = event.resource_id ? `${event.resource_type} ${event.resource_id}` : event.resource_type;
  const actor = event.actor_id ? `${event.actor_type} ${event.actor_id}` : event.actor_type;
  return `Warden audit: ${event.action} (${event.outcome}) on ${resource} by ${actor}`.slice(0, 1024);
}

/** The intake's host as the caller wrote it, or the whole text when it is no URL. */
function hostOf(intakeUrl: string): string {
  try {
    return new URL(intakeUrl).host;
  } catch {
    return intakeUrl.slice(0, 200);
  }
}

function sameUrl(a: string, b: string | undefined): boolean {
  if (b === undefined) return false;
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

function invalid(code: ValidationError['code'], field: string, message: string, rule = 'required'): ValidationError {
  return new ValidationError(message, code, [{ location: 'body', field, message, rule }]);
}
