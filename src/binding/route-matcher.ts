import { BadRequestError } from '../errors/api-error';
import type { BoundOperation } from './operation-table';

/**
 * Matches a request to its operation through a segment trie built once at start-up, so the cost
 * of a match depends on the depth of the path, not on how many operations the spec holds.
 * (openapi-backend's stock router rebuilds its operation list and compiles a RegExp per
 * operation on every request.) Static segments win over parameters, as OpenAPI requires, and a
 * parameter over a catch-all (`x-catch-all`), which takes the rest of the path, raw.
 */
interface TrieNode {
  statics: Map<string, TrieNode>;
  parameter?: TrieNode;
  /** Where a catch-all parameter ends the template; its operations take one or more segments. */
  catchAll?: TrieNode;
  /** Operations ending here, by upper-case method, with their parameter names by position. */
  operations: Map<string, BoundRoute>;
}
interface BoundRoute {
  operation: BoundOperation;
  parameterNames: string[];
  /** The last parameter is a catch-all, kept as sent (never decoded). */
  rawLast: boolean;
}

export type RouteMatch =
  | { kind: 'operation'; operation: BoundOperation; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

const PARAMETER_SEGMENT = /^\{([^{}]+)\}$/;

const newNode = (): TrieNode => ({ statics: new Map(), operations: new Map() });

export class RouteMatcher {
  private readonly root = newNode();

  constructor(operations: BoundOperation[]) {
    for (const operation of operations) this.add(operation);
  }

  private add(operation: BoundOperation): void {
    let node = this.root;
    const parameterNames: string[] = [];
    for (const segment of splitPath(operation.path)) {
      const parameter = PARAMETER_SEGMENT.exec(segment);
      if (parameter && parameter[1] === operation.catchAll) {
        // The operation table has checked that a catch-all is the last segment.
        parameterNames.push(parameter[1]!);
        node.catchAll ??= newNode();
        node = node.catchAll;
      } else if (parameter) {
        parameterNames.push(parameter[1]!);
        node.parameter ??= newNode();
        node = node.parameter;
      } else if (segment.includes('{')) {
        throw new Error(`${operation.operationId}: a path parameter must fill a whole segment (${operation.path})`);
      } else {
        let next = node.statics.get(segment);
        if (!next) {
          next = newNode();
          node.statics.set(segment, next);
        }
        node = next;
      }
    }
    if (node.operations.has(operation.method)) {
      throw new Error(`${operation.operationId}: ${operation.method} ${operation.path} is already bound to another operation`);
    }
    node.operations.set(operation.method, { operation, parameterNames, rawLast: operation.catchAll !== undefined });
  }

  match(method: string, path: string): RouteMatch {
    const walk: Walk = {
      path,
      segments: splitPath(path),
      values: [],
      pathExists: undefined,
      lookup: method === 'HEAD' ? HEAD_LOOKUP : [method],
    };
    const found = this.walk(walk, this.root, 0);
    if (found) return found;
    if (walk.pathExists) return { kind: 'method-not-allowed', allowed: allowedMethods(walk.pathExists) };
    return { kind: 'not-found' };
  }

  /**
   * Depth-first, static child before the parameter child, so `/agents/register` beats
   * `/agents/{id}`; the first node that has the method wins.
   */
  private walk(walk: Walk, node: TrieNode, depth: number): RouteMatch | undefined {
    const { segments, values } = walk;
    if (depth === segments.length) return this.operationAt(walk, node);
    const segment = segments[depth]!;
    const staticChild = node.statics.get(segment);
    if (staticChild) {
      const found = this.walk(walk, staticChild, depth + 1);
      if (found) return found;
    }
    if (node.parameter && segment !== '') {
      values.push(segment);
      const found = this.walk(walk, node.parameter, depth + 1);
      if (found) return found;
      values.pop();
    }
    if (node.catchAll && segment !== '') {
      values.push(restOfPath(walk.path, segments, depth));
      const found = this.operationAt(walk, node.catchAll);
      if (found) return found;
      values.pop();
    }
    return undefined;
  }

  private operationAt(walk: Walk, node: TrieNode): RouteMatch | undefined {
    if (node.operations.size === 0) return undefined;
    walk.pathExists ??= node;
    for (const candidate of walk.lookup) {
      const bound = node.operations.get(candidate);
      if (bound) return { kind: 'operation', operation: bound.operation, params: namedParameters(bound, walk.values) };
    }
    return undefined;
  }
}

/** The segments from `depth` on, as sent: a trailing slash is part of what the caller asked for. */
function restOfPath(path: string, segments: string[], depth: number): string {
  const rest = segments.slice(depth).join('/');
  return path.length > 1 && path.endsWith('/') ? `${rest}/` : rest;
}

/** One match's state while it walks the trie. */
interface Walk {
  path: string;
  segments: string[];
  values: string[];
  pathExists: TrieNode | undefined;
  lookup: readonly string[];
}
const HEAD_LOOKUP = ['HEAD', 'GET'] as const;

/** The methods some operation serves at a path (HEAD wherever GET is), or undefined when none does. */
export function methodsAt(matcher: RouteMatcher, path: string): string[] | undefined {
  // No operation has the empty method, so a path that exists always answers method-not-allowed.
  const match = matcher.match('', path);
  return match.kind === 'method-not-allowed' ? match.allowed : undefined;
}

function splitPath(path: string): string[] {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return trimmed.split('/').slice(1);
}

function namedParameters({ parameterNames: names, rawLast }: BoundRoute, rawValues: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  names.forEach((name, index) => {
    const raw = rawValues[index]!;
    if (rawLast && index === names.length - 1) {
      params[name] = raw;
      return;
    }
    try {
      params[name] = decodeURIComponent(raw);
    } catch {
      throw new BadRequestError(`Path parameter '${name}' is not valid percent-encoding.`, 'MALFORMED_PATH');
    }
  });
  return params;
}

function allowedMethods(node: TrieNode): string[] {
  const methods = new Set(node.operations.keys());
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}
