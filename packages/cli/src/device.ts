import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { arch, hostname, networkInterfaces, platform } from 'node:os';

export interface Device {
  /** SHA-256 (hex) of the machine facts; the facts themselves never leave the machine. */
  fingerprint: string;
  name: string;
  os: string;
}

const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/**
 * This machine as a device-bound API key sees it. The facts are the OS's machine id where it
 * has one (stable across reboots and renames), else host name, platform, architecture and the
 * first non-internal MAC address. WARDEN_MACHINE_ID replaces them, for containers that share
 * one image's machine id.
 */
export function thisDevice(env: NodeJS.ProcessEnv = process.env): Device {
  const facts = env.WARDEN_MACHINE_ID?.trim() || machineId() || fallbackFacts();
  return {
    fingerprint: createHash('sha256').update(`warden-device-v1\n${facts}`).digest('hex'),
    name: hostname().slice(0, 100) || 'unknown',
    os: osName(),
  };
}

function machineId(): string | undefined {
  for (const file of MACHINE_ID_FILES) {
    try {
      const id = readFileSync(file, 'utf8').trim();
      if (id) return `machine-id:${id}`;
    } catch {
      // Not on this system; try the next source.
    }
  }
  return undefined;
}

function fallbackFacts(): string {
  const mac = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && !entry.internal && entry.mac !== '00:00:00:00:00:00')?.mac;
  return [hostname(), platform(), arch(), mac ?? ''].join('\n');
}

function osName(): string {
  const names: Partial<Record<NodeJS.Platform, string>> = { darwin: 'macos', win32: 'windows' };
  return names[platform()] ?? platform();
}
