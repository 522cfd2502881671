import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { components } from '../../../generated/api';
import type { InstanceSecrets } from '../../db/instance-secrets';
import type { Mailer } from '../../mail/mailer';
import type { OutboundHttp } from '../../outbound/outbound-http';
import type { RbacService } from '../rbac';
import type { ApprovalSettingsRow } from './approval-store';

type Approval = components['schemas']['Approval'];

/** The instance secret every org's webhook signing secrets are derived from. */
const SIGNING_KEY = 'approval_webhook_signing';
/** At most this many approvers are mailed about one approval. */
const MAX_RECIPIENTS = 50;

/**
 * The signing secret of an org's generic webhook at a version: derived, not stored, so nothing
 * secret sits in the settings row and a new `webhook_url` gets a new secret.
 */
export async function webhookSecret(secrets: InstanceSecrets, orgId: string, version: number): Promise<string> {
  const key = await secrets.get(SIGNING_KEY);
  return `whsec_${createHmac('sha256', key).update(`${orgId}.${version}`).digest('hex')}`;
}

/** `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, as Stripe signs its webhooks. */
export function signatureHeader(secret: string, body: string, now = Date.now()): string {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * Tells the people who can decide that an approval waits: a mail to each user holding
 * `approval.decide`, and the org's Slack and generic webhooks. Runs after the approval has
 * committed; a failure is logged, never passed on.
 */
export class ApprovalNotifier {
  constructor(
    private readonly rbac: Pick<RbacService, 'emailsOfHolders'>,
    private readonly mailer: Pick<Mailer, 'dispatch'>,
    private readonly outbound: OutboundHttp,
    private readonly secrets: InstanceSecrets,
    private readonly logger: Logger,
    private readonly publicUrl: string,
  ) {
    // Loaded now, outside any request: on the embedded database (one connection) a first load
    // inside an operation's transaction would wait for that transaction's own connection.
    secrets.get(SIGNING_KEY).catch(() => undefined);
  }

  async notify(approval: Approval, settings: ApprovalSettingsRow | undefined): Promise<void> {
    // The action and path are the agent's words: no control character reaches a mail body, and
    // Slack sees them as text (its markup of `<…>` links and `<!channel>` pings escaped).
    const plain = (text: string) => text.replace(/\p{Cc}/gu, ' ');
    const summary =
      `Agent ${approval.agent_id} asks to ${plain(approval.action)}: ${approval.method} ${plain(approval.path)} ` +
      `for $${approval.cost_usd} (approval ${approval.id}).`;
    const slackText = summary.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const link = `${this.publicUrl}/api/v1/approvals/${approval.id}`;
    for (const to of await this.rbac.emailsOfHolders(approval.org_id, 'approval.decide', MAX_RECIPIENTS)) {
      this.mailer.dispatch({
        to,
        subject: `Approval needed: ${plain(approval.action)}`,
        text: `${summary}\n\nApprove or deny it before ${approval.expires_at}:\n${link}\n`,
      });
    }
    const deliveries: Array<Promise<void>> = [];
    if (settings?.slack_webhook_url) {
      deliveries.push(this.post('slack', settings.slack_webhook_url, {}, JSON.stringify({ text: `${slackText}\n${link}` })));
    }
    if (settings?.webhook_url) {
      const body = JSON.stringify({ type: 'approval.requested', approval });
      const secret = await webhookSecret(this.secrets, approval.org_id, settings.webhook_secret_version);
      deliveries.push(this.post('webhook', settings.webhook_url, { 'Warden-Signature': signatureHeader(secret, body) }, body));
    }
    await Promise.all(deliveries);
  }

  private async post(channel: 'slack' | 'webhook', url: string, headers: Record<string, string>, body: string): Promise<void> {
    // The Slack URL is a credential: logs name its origin only.
    const where = { approval_channel: channel, destination: new URL(url).origin };
    try {
      const delivery = await this.outbound.post(
        await this.outbound.destination(url),
        { 'Content-Type': 'application/json', ...headers },
        body,
      );
      if (!delivery.ok)
        this.logger.warn({ ...where, attempts: delivery.attempts, reason: delivery.reason }, 'approval notice not delivered');
    } catch (error) {
      this.logger.warn({ ...where, err_message: (error as Error).message }, 'approval notice not delivered');
    }
  }
}
