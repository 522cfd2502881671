import { startServer } from './server';

/** `npm start` (through scripts/start.js) and the tests' server processes start here. */
startServer();
