import { CliError } from './output.js';

/**
 * Reads a secret: typed with no echo on a terminal, or the first line of stdin when it is a
 * pipe (`echo "$KEY" | warden login`), so scripts need no terminal.
 */
export async function readSecret(prompt: string): Promise<string> {
  process.stdout.write(prompt);
  const value = process.stdin.isTTY ? await readHidden() : await readFirstLine();
  return value.trim();
}

async function readFirstLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  process.stdout.write('\n');
  return text.split(/\r?\n/)[0] ?? '';
}

function readHidden(): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (outcome: () => void) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stdout.write('\n');
      outcome();
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish(() => resolve(value));
        if (char === '\u0003') return finish(() => reject(new CliError('Cancelled.', 130)));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else if (char >= ' ') value += char;
      }
    };
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
