import { loadConfig } from './config/config';
import { startEmbeddedPostgresEarly } from './db/embedded-postgres';

/**
 * `npm start` (through scripts/start.js) and the tests' server processes start here. The embedded
 * database starts first, on its worker thread, so PGlite's start-up overlaps the loading of the
 * server's modules on this one; a configuration problem is left for the server to report.
 */
try {
  const config = loadConfig();
  if (!config.databaseUrl) startEmbeddedPostgresEarly(config.dataDir);
} catch {}
const { startServer } = require('./server') as typeof import('./server');
startServer();
