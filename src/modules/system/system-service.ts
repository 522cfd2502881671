import type { components } from '../../../generated/api';
import type { Database } from '../../db/database';

type Readiness = components['schemas']['Readiness'];
type ReadinessCheck = components['schemas']['ReadinessCheck'];

/** A check that has not answered by then counts as failed, so the probe itself never hangs. */
const CHECK_TIMEOUT_MS = 2_000;

export class SystemService {
  constructor(private readonly database: Pick<Database, 'ping' | 'pendingMigrations'>) {}

  async readiness(): Promise<Readiness> {
    const [database, migrations] = await Promise.all([
      runCheck(async () => {
        await this.database.ping();
        return {};
      }),
      runCheck(async () => {
        const pending = await this.database.pendingMigrations();
        return pending.length === 0
          ? { pending }
          : { pending, failure: `${pending.length} migration${pending.length === 1 ? ' is' : 's are'} not applied` };
      }),
    ]);
    const ready = database.status === 'ok' && migrations.status === 'ok';
    return { status: ready ? 'ready' : 'not_ready', checks: { database, migrations } };
  }
}

async function runCheck(check: () => Promise<{ pending?: string[]; failure?: string }>): Promise<ReadinessCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    const { pending, failure } = await Promise.race([check(), timeout]);
    const result: ReadinessCheck = { status: failure ? 'fail' : 'ok', latency_ms: elapsed(started) };
    if (pending) result.pending = pending;
    if (failure) result.error = failure;
    return result;
  } catch (error) {
    // Driver messages name hosts and roles at most; they carry no credentials, and a stack never leaves.
    const message = error instanceof Error ? error.message : String(error);
    return { status: 'fail', latency_ms: elapsed(started), error: message.slice(0, 500) };
  } finally {
    clearTimeout(timer);
  }
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 100) / 100;
