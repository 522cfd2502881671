import type { Config } from './config/config';
import type { Database } from './db/database';
import type { Metrics } from './metrics/metrics';
import type { ContractDocuments } from './modules/system/contract-documents';
import type { SystemService } from './modules/system/system-service';

/** What every handler can reach through `context.services`; built once in createApp. */
export interface Services {
  config: Config;
  database: Database;
  metrics: Metrics;
  contract: ContractDocuments;
  system: SystemService;
}
