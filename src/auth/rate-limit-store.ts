import type { DataSource } from 'typeorm';

/** The bucket of the per-API-key budget in `rate_limit_hits`: one row per key and minute. */
const API_KEY_BUCKET = 'api_key';

export interface KeyWindowHits {
  subject: string;
  windowStart: Date;
  hits: number;
}

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

  /** Adds each key window's hits to its shared row, all in one statement, and returns each row's total, in the order given. */
  async addKeyHits(windows: KeyWindowHits[]): Promise<number[]> {
    const rows: Array<{ subject: string; window_start: Date; hits: number }> = await this.dataSource.query(
      `INSERT INTO rate_limit_hits AS r (bucket, subject, window_start, hits)
       SELECT $4, subject, window_start, hits FROM unnest($1::text[], $2::timestamptz[], $3::int[]) AS g (subject, window_start, hits)
       ON CONFLICT (bucket, subject, window_start) DO UPDATE SET hits = r.hits + EXCLUDED.hits
       RETURNING r.subject, r.window_start, r.hits`,
      [windows.map((w) => w.subject), windows.map((w) => w.windowStart), windows.map((w) => w.hits), API_KEY_BUCKET],
    );
    const totals = new Map(rows.map((row) => [`${row.subject} ${row.window_start.getTime()}`, row.hits]));
    return windows.map((w) => totals.get(`${w.subject} ${w.windowStart.getTime()}`)!);
  }

  async deleteWindowsOlderThanADay(): Promise<void> {
    await this.dataSource.query(`DELETE FROM rate_limit_hits WHERE window_start < now() - interval '1 day'`);
  }
}
