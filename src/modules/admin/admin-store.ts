import type { Db } from '../../db/db';

export interface AdminPinChallengeRow {
  id: string;
  email: string;
  pin_digest: Buffer;
  attempts: number;
  created_at: Date;
  expires_at: Date;
  consumed_at: Date | null;
}

/** Every SQL statement on `admin_pin_challenges`. */
export class AdminStore {
  constructor(private readonly db: Db) {}

  async insertChallenge(challenge: Pick<AdminPinChallengeRow, 'id' | 'email' | 'pin_digest' | 'expires_at'>): Promise<void> {
    await this.db.query(`INSERT INTO admin_pin_challenges (id, email, pin_digest, expires_at) VALUES ($1, $2, $3, $4)`, [
      challenge.id,
      challenge.email,
      challenge.pin_digest,
      challenge.expires_at,
    ]);
  }

  async lockChallenge(challengeId: string): Promise<AdminPinChallengeRow | undefined> {
    const { rows } = await this.db.query<AdminPinChallengeRow>(`SELECT * FROM admin_pin_challenges WHERE id = $1 FOR UPDATE`, [
      challengeId,
    ]);
    return rows[0];
  }

  async countFailedAttempt(challengeId: string): Promise<void> {
    await this.db.query(`UPDATE admin_pin_challenges SET attempts = attempts + 1 WHERE id = $1`, [challengeId]);
  }

  async consume(challengeId: string): Promise<void> {
    await this.db.query(`UPDATE admin_pin_challenges SET consumed_at = now() WHERE id = $1`, [challengeId]);
  }
}
