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

/**
 * The JSON spec is read now (the binding needs it); the YAML, the 2.7 MB docs page and the icon
 * are read on their first request, off the start-up path, and kept.
 */
export function loadContractDocuments(folder = GENERATED_DIR): ContractDocuments {
  const lazily = <T>(read: () => T) => {
    let value: T | undefined;
    return { get: () => (value ??= read()), enumerable: true };
  };
  return Object.defineProperties({ json: JSON.parse(readFileSync(join(folder, 'openapi.json'), 'utf8')) } as ContractDocuments, {
    yaml: lazily(() => readFileSync(join(folder, 'openapi.yaml'), 'utf8')),
    docsHtml: lazily(() => readFileSync(join(folder, 'docs/index.html'), 'utf8')),
    favicon: lazily(() => readFileSync(join(PROJECT_ROOT, 'src/modules/system/favicon.ico'))),
  });
}
