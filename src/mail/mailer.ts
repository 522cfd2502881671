import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Db } from '../db/db';
import { newId } from '../db/ids';
import { type OutboxStatus, OutboxStore } from './outbox-store';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/**
 * Sends mail through SMTP (`SMTP_URL`). Without it, the message is written to the log so
 * `npm start` works alone (the operator reads a PIN or link from the console). Either way the
 * outbox table records recipient, subject and outcome, never the body: bodies carry PINs and
 * links, which are secrets.
 */
export class Mailer {
  private transport: Transporter | undefined;
  private readonly outbox: OutboxStore;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly smtpUrl: string | undefined,
    private readonly from: string,
  ) {
    this.outbox = new OutboxStore(db);
  }

  /**
   * Sends the message off the caller's answer path, outside its transaction (call it once that
   * has committed): an answer must take no longer when a mail goes out than when none does, or
   * its timing tells whether an account exists, and a slow SMTP server must not hold a request.
   */
  dispatch(message: MailMessage): void {
    this.db
      .detached(() => this.send(message))
      .catch((error: Error) => this.logger.error({ mail_to: message.to, err_message: error.message }, 'mail could not be dispatched'));
  }

  /**
   * Sends the message now and says how it went, for a caller that records the outcome itself
   * (support tickets). Call it outside any transaction: an SMTP server's pace must hold no lock.
   */
  async deliver(message: MailMessage): Promise<OutboxStatus> {
    return this.send(message);
  }

  private async send(message: MailMessage): Promise<OutboxStatus> {
    let status: OutboxStatus;
    if (!this.smtpUrl) {
      this.logger.warn(
        { mail_to: message.to, mail_subject: message.subject, mail_text: message.text },
        'SMTP_URL is not set; mail written to the log instead',
      );
      status = 'logged';
    } else {
      try {
        // Loaded on the first mail, not at start-up (nodemailer is large).
        this.transport ??= (require('nodemailer') as typeof import('nodemailer')).createTransport(this.smtpUrl);
        await this.transport.sendMail({ from: this.from, ...message });
        status = 'sent';
      } catch (error) {
        this.logger.error({ mail_to: message.to, err_message: (error as Error).message }, 'mail could not be sent');
        status = 'failed';
      }
    }
    await this.record(message.to, message.subject, status);
    return status;
  }

  /** Notes a message in the outbox; `in_response` when its content went back in the API answer instead (DEV_RETURN_LINK_TOKENS). */
  async record(to: string, subject: string, status: OutboxStatus): Promise<void> {
    await this.outbox.insert({ id: newId('msg'), recipient: to, subject, status });
  }
}
