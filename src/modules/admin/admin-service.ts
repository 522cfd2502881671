import { createHmac, randomUUID } from 'node:crypto';
import { currentRequestFacts } from '../../audit/audit-event';
import { constantTimeEqual, newPin } from '../../auth/credentials';
import type { Db } from '../../db/db';
import type { InstanceSecrets } from '../../db/instance-secrets';
import { UnauthorizedError } from '../../errors/api-error';
import type { Mailer } from '../../mail/mailer';
import type { AuditService } from '../audit';
import type { AuthService } from '../auth';
import { AdminStore } from './admin-store';

const PIN_TTL_MS = 5 * 60_000;
const MAX_PIN_ATTEMPTS = 5;

const pinRefused = (code: UnauthorizedError['code'], message: string) => new UnauthorizedError(message, code);

/**
 * Platform-admin login by emailed PIN (seed 000). PINs are stored as an HMAC keyed by a
 * per-database secret, so a leaked table alone does not give them away; they live 5 minutes,
 * allow 5 attempts and work once.
 */
export class AdminService {
  private readonly store: AdminStore;

  constructor(
    private readonly db: Db,
    private readonly mailer: Pick<Mailer, 'dispatch'>,
    private readonly secrets: Pick<InstanceSecrets, 'get'>,
    private readonly adminEmails: ReadonlySet<string>,
    private readonly sessionTtlMinutes: number,
    private readonly audit: Pick<AuditService, 'append'>,
    private readonly sessions: Pick<AuthService, 'openAdminSession'>,
  ) {
    this.store = new AdminStore(db);
  }

  /**
   * Same answer, and no extra wait, for any email: the challenge id of a non-admin email simply
   * matches nothing, and mail goes out after the response. Either way the request is a platform
   * event (a failure for a non-admin email), which the caller cannot read.
   */
  async requestPin(email: string) {
    const challengeId = randomUUID();
    const expiresAt = new Date(Date.now() + PIN_TTL_MS);
    const normalized = email.toLowerCase();
    const isAdmin = this.adminEmails.has(normalized);
    const pin = newPin();
    // Before the transaction: the HMAC key may be read from the database on first use, which must
    // not wait for a connection the transaction holds (the embedded database has only one).
    const pinDigest = await this.pinDigest(challengeId, pin);
    await this.db.transaction(async () => {
      if (isAdmin) await this.store.insertChallenge({ id: challengeId, email: normalized, pin_digest: pinDigest, expires_at: expiresAt });
      await this.audit.append({
        orgId: null,
        actor: { type: 'anonymous', id: normalized },
        action: 'admin.pin_requested',
        resourceType: 'admin_pin_challenge',
        resourceId: challengeId,
        outcome: isAdmin ? 'success' : 'failure',
        ...currentRequestFacts(),
        details: { expires_at: expiresAt.toISOString() },
      });
    });
    if (isAdmin) {
      this.mailer.dispatch({
        to: normalized,
        subject: 'Your Warden admin PIN',
        text:
          `Your Warden admin login PIN is ${pin}.\nIt expires at ${expiresAt.toISOString()} and works once.\n` +
          'If you did not ask for it, ignore this mail.',
      });
    }
    return { challenge_id: challengeId, expires_at: expiresAt.toISOString(), delivery: 'email' as const };
  }

  async verifyPin(input: { email: string; challenge_id: string; pin: string }) {
    // A wrong PIN must still count its attempt, so refusals are decided inside the transaction
    // (which commits the count) and thrown after it.
    const outcome = await this.db.transaction(async () => {
      const challenge = await this.store.lockChallenge(input.challenge_id);
      if (!challenge || challenge.email !== input.email.toLowerCase()) return pinRefused('PIN_INVALID', 'The PIN is wrong.');
      if (challenge.consumed_at) return pinRefused('PIN_USED', 'This PIN has been used; request a new one.');
      if (challenge.expires_at.getTime() <= Date.now()) return pinRefused('PIN_EXPIRED', 'This PIN has expired; request a new one.');
      if (challenge.attempts >= MAX_PIN_ATTEMPTS) {
        return pinRefused('PIN_ATTEMPTS_EXCEEDED', 'Too many wrong PINs for this challenge; request a new one.');
      }
      if (!constantTimeEqual(await this.pinDigest(challenge.id, input.pin), challenge.pin_digest)) {
        await this.store.countFailedAttempt(challenge.id);
        if (challenge.attempts + 1 === MAX_PIN_ATTEMPTS) {
          await this.audit.append({
            orgId: null,
            actor: { type: 'anonymous', id: challenge.email },
            action: 'admin.pin_locked',
            resourceType: 'admin_pin_challenge',
            resourceId: challenge.id,
            outcome: 'denied',
            ...currentRequestFacts(),
            details: { attempts: MAX_PIN_ATTEMPTS },
          });
        }
        return pinRefused('PIN_INVALID', 'The PIN is wrong.');
      }
      await this.store.consume(challenge.id);
      const expiresAt = new Date(Date.now() + this.sessionTtlMinutes * 60_000);
      const { sessionId, token } = await this.sessions.openAdminSession(challenge.email, expiresAt);
      await this.audit.append({
        orgId: null,
        actor: { type: 'admin_session', id: challenge.email },
        action: 'admin.login',
        resourceType: 'session',
        resourceId: sessionId,
        outcome: 'success',
        ...currentRequestFacts(),
        details: { challenge_id: challenge.id, expires_at: expiresAt.toISOString() },
      });
      return { session_token: token, expires_at: expiresAt.toISOString(), email: challenge.email };
    });
    if (outcome instanceof UnauthorizedError) throw outcome;
    return outcome;
  }

  private async pinDigest(challengeId: string, pin: string): Promise<Buffer> {
    return createHmac('sha256', await this.secrets.get('admin_pin_hmac'))
      .update(`${challengeId}:${pin}`)
      .digest();
  }
}
