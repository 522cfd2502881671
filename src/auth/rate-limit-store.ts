import type { DataSource } from 'typeorm';

/**
 * The `rate_limit_hits` counters. They run on the pool, outside any request transaction: a hit
 * counts even when the request it belongs to rolls back.
 */
export class RateLimitStore {
  constructor(private readonly dataSource: DataSource) {}

  /** Counts one hit in the subject's window in a single upsert and returns the window's total. */
  async hit(bucket: string, subject: string, windowStart: Date): Promise<number> {
    const [row]: Array<{ hits: number }> = await this.dataSource.query(
      `INSERT INTO rate_limit_hits (bucket, subject, window_start, hits) VALUES ($1, $2, $3, 1)
       ON CONFLICT (bucket, subject, window_start) DO UPDATE SET hits = rate_limit_hits.hits + 1
       RETURNING hits`,
      [bucket, subject, windowStart],
    );
    return row!.hits;
  }

  async deleteWindowsOlderThanADay(): Promise<void> {
    await this.dataSource.query(`DELETE FROM rate_limit_hits WHERE window_start < now() - interval '1 day'`);
  }
}
