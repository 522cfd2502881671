import { BadRequestError } from '../../errors/api-error';

/** A parsed image reference: where the image lives and which of its versions. */
export interface ImageRef {
  /** `registry/repository:tag` or `registry/repository@sha256:…`: the key images and scans are found by. */
  ref: string;
  registry: string;
  repository: string;
  tag: string | null;
  digest: string | null;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[1-9]\d{0,4})?$/;
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

const invalid = (raw: string, why: string) =>
  new BadRequestError(`The image reference '${raw.slice(0, 200)}' is not valid: ${why}.`, 'IMAGE_REF_INVALID', [
    { location: 'path', field: 'ref', message: why, rule: 'image_reference' },
  ]);

/**
 * Parses `[registry/]repository[:tag][@sha256:digest]` as Docker does: the first component is a
 * registry host when it has a `.` or a `:` or is `localhost`; otherwise the image is on the default
 * registry (Docker Hub's one-component names live under `library/`). No tag and no digest: `latest`.
 */
export function parseImageRef(raw: string, defaultRegistry: string): ImageRef {
  if (raw.length === 0 || raw.length > 512) throw invalid(raw, 'it must be 1 to 512 characters');
  let rest = raw;
  let digest: string | null = null;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(raw, 'a digest must be sha256: and 64 lower-case hex digits');
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(raw, 'a tag is up to 128 letters, digits, `_`, `.` and `-`');
  }
  const parts = rest.split('/');
  let registry = defaultRegistry;
  const first = parts[0]!;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!HOST.test(first) || Number(first.split(':')[1] ?? 0) > 65535) throw invalid(raw, `'${first}' is not a registry host`);
    registry = first.toLowerCase();
    parts.shift();
  }
  if (parts.length === 0 || !parts.every((part) => COMPONENT.test(part))) {
    throw invalid(raw, 'a repository is lower-case components separated by `/`');
  }
  if (DOCKER_HUB.has(registry) && parts.length === 1) parts.unshift('library');
  const repository = parts.join('/');
  if (repository.length > 255) throw invalid(raw, 'the repository name is longer than 255 characters');
  if (tag === null && digest === null) tag = 'latest';
  const ref = `${registry}/${repository}${digest ? `@${digest}` : `:${tag}`}`;
  return { ref, registry, repository, tag, digest };
}
