import { WardenError } from '@warden/sdk';

/** A failure the CLI explains itself; the message is for people, `exitCode` for scripts. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface JsonOption {
  json?: boolean;
}

/** `--json` prints the value for programs; otherwise the text for people. */
export function emit(options: JsonOption, value: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** Columns padded to their widest cell; empty values show as a dash. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = [
    headers,
    ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === '' ? '-' : String(cell)))),
  ];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Label/value lines, aligned. */
export function fields(pairs: Array<[string, string | number | boolean | null | undefined]>): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value ?? '-'}`).join('\n');
}

/** How a failure reaches the user: Warden's message, its code and request id, or the JSON body with --json. */
export function report(error: unknown, json: boolean): number {
  if (error instanceof WardenError) {
    if (json) process.stderr.write(`${JSON.stringify(error.body, null, 2)}\n`);
    else process.stderr.write(`Error: ${error.message}\n(${error.code}, HTTP ${error.status}, request ${error.requestId || 'unknown'})\n`);
    return 1;
  }
  if (error instanceof CliError) {
    process.stderr.write(json ? `${JSON.stringify({ error: 'cli_error', message: error.message })}\n` : `Error: ${error.message}\n`);
    return error.exitCode;
  }
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  // Node's fetch says only "fetch failed" when the backend is unreachable; say where to look.
  const message =
    error instanceof TypeError && error.message === 'fetch failed'
      ? `could not reach Warden${cause}. Check --backend, WARDEN_BACKEND_URL or the backend you logged in to.`
      : `${error instanceof Error ? error.message : String(error)}${cause}`;
  process.stderr.write(`Error: ${message}\n`);
  return 1;
}
