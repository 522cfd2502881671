import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { operations } from '../../../generated/api';
import { GENERATED_DIR, PROJECT_ROOT } from '../../config/paths';

type BundledSpec = operations['getOpenApiJson']['responses'][200]['content']['application/json'];

/** The published contract, read from generated/ once at start-up and served from memory. */
export interface ContractDocuments {
  json: BundledSpec;
  yaml: string;
  docsHtml: string;
  /** The portal's icon (built in, so the page fetches nothing from other hosts). */
  favicon: Buffer;
}

export function loadContractDocuments(folder = GENERATED_DIR): ContractDocuments {
  return {
    json: JSON.parse(readFileSync(join(folder, 'openapi.json'), 'utf8')),
    yaml: readFileSync(join(folder, 'openapi.yaml'), 'utf8'),
    docsHtml: readFileSync(join(folder, 'docs/index.html'), 'utf8'),
    favicon: readFileSync(join(PROJECT_ROOT, 'src/modules/system/favicon.ico')),
  };
}
