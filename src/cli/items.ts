/**
 * @module wirekit/cli/items
 * httpie's request items and URL shorthands, for `wirekit get|post|...`:
 *
 * | item | means |
 * |---|---|
 * | `Header:Value` | a request header; `Header:` removes a default header, `Header;` sends it empty |
 * | `name==value` | a query parameter (`name==@file`: the value from a file) |
 * | `field=value` | a data field, a string (`field=@file`: the file's text) |
 * | `field:=json` | a data field, raw JSON (`field:=@file`: JSON from a file) |
 * | `field@path` | a file to upload (multipart); `field@path;type=image/png` sets its type |
 *
 * A backslash makes the next separator character literal (`a\=b=c` is the field `a=b`). Data
 * field names may nest JSON as httpie does: `user[name]=ann`, `tags[]=a`, `list[0]=x`.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from './args.js';

/** One parsed request item. */
export type RequestItem =
  | { kind: 'header'; name: string; value: string | null }
  | { kind: 'query'; name: string; value: string; fromFile?: boolean }
  | { kind: 'data'; name: string; value: string; fromFile?: boolean }
  | { kind: 'json'; name: string; value: string; fromFile?: boolean }
  | { kind: 'file'; name: string; path: string; type?: string };

/** Separators, longest first at each position, and what each one makes. */
const SEPARATORS: Array<[string, (name: string, value: string) => RequestItem]> = [
  [':=@', (name, value) => ({ kind: 'json', name, value, fromFile: true })],
  ['==@', (name, value) => ({ kind: 'query', name, value, fromFile: true })],
  ['=@', (name, value) => ({ kind: 'data', name, value, fromFile: true })],
  [':=', (name, value) => ({ kind: 'json', name, value })],
  ['==', (name, value) => ({ kind: 'query', name, value })],
  ['=', (name, value) => ({ kind: 'data', name, value })],
  ['@', (name, value) => fileItem(name, value)],
  [':', (name, value) => ({ kind: 'header', name, value: value === '' ? null : value })],
  [';', (name, value) => ({ kind: 'header', name, value })],
];

/** Characters a backslash escapes in an item. */
const SPECIAL = new Set([':', '=', '@', ';', '\\', '[', ']']);

function fileItem(name: string, value: string): RequestItem {
  const at = value.lastIndexOf(';type=');
  return at === -1
    ? { kind: 'file', name, path: value }
    : { kind: 'file', name, path: value.slice(0, at), type: value.slice(at + ';type='.length) };
}

/** Undoes backslash escapes of separator characters; other backslashes stay (Windows paths). */
function unescape(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    const next = text[i + 1];
    if (char === '\\' && next !== undefined && SPECIAL.has(next)) {
      out += next;
      i++;
    } else out += char;
  }
  return out;
}

/**
 * Parses one request item, or throws a UsageError saying what the forms are.
 *
 * @example
 * parseItem('X-Api-Key:abc');   // { kind: 'header', name: 'X-Api-Key', value: 'abc' }
 * parseItem('age:=30');         // { kind: 'json', name: 'age', value: '30' }
 */
export function parseItem(arg: string): RequestItem {
  for (let i = 0; i < arg.length; i++) {
    if (arg[i] === '\\') {
      i++;
      continue;
    }
    for (const [separator, make] of SEPARATORS) {
      if (!arg.startsWith(separator, i)) continue;
      // The name keeps its escapes for now: nested-JSON keys need to tell `\[` from `[`.
      const rawName = arg.slice(0, i);
      if (rawName === '') break;
      const item = make(rawName, unescape(arg.slice(i + separator.length)));
      if (item.kind === 'header') {
        item.name = unescape(rawName);
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(item.name)) {
          throw new UsageError(`'${item.name}' is not a valid header name (in '${arg}')`);
        }
      } else if (item.kind !== 'data' && item.kind !== 'json') item.name = unescape(rawName);
      return item;
    }
  }
  throw new UsageError(
    `'${arg}' is not a request item: use Header:Value, name==query, field=text, field:=json or field@file`,
  );
}

/**
 * The URL for a request argument, httpie style: `:3000/path` is localhost, a URL without a
 * scheme gets `defaultScheme`.
 *
 * @example
 * normalizeUrl(':3000/api');     // 'http://localhost:3000/api'
 * normalizeUrl('example.org');   // 'http://example.org/'
 */
export function normalizeUrl(arg: string, defaultScheme = 'http'): string {
  let text = arg;
  if (/^:(\d|\/|$)/.test(text)) text = `localhost${text}`;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `${defaultScheme}://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`'${arg}' is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`'${arg}': only http and https URLs are supported`);
  }
  return url.href;
}

/** A JSON path from a data field name: `a[b][]` is `['a', 'b', null]` (null: append). */
function keyPath(rawName: string): Array<string | number | null> {
  const path: Array<string | number | null> = [];
  let i = 0;
  let head = '';
  while (i < rawName.length && rawName[i] !== '[') {
    if (rawName[i] === '\\' && i + 1 < rawName.length) i++;
    head += rawName[i];
    i++;
  }
  path.push(head);
  while (i < rawName.length) {
    const close = rawName.indexOf(']', i);
    if (rawName[i] !== '[' || close === -1) {
      throw new UsageError(`'${unescape(rawName)}': a nested key is name[key], name[] or name[0]`);
    }
    const inner = rawName.slice(i + 1, close);
    path.push(inner === '' ? null : /^\d+$/.test(inner) ? Number(inner) : unescape(inner));
    i = close + 1;
  }
  return path;
}

/** The object or array at `path[0..i]`, or a UsageError when an earlier item put a value there. */
function container(
  value: unknown,
  path: Array<string | number | null>,
  i: number,
): Record<string, unknown> | unknown[] {
  if (value !== null && typeof value === 'object') return value as Record<string, unknown> | unknown[];
  const at = path
    .slice(0, i + 1)
    .map((k, j) => (j === 0 ? k : `[${k ?? ''}]`))
    .join('');
  throw new UsageError(`'${at}' already holds a value; it cannot also hold keys`);
}

/** Sets `value` at `path` in `root`, creating objects and arrays as the path says. */
function setPath(root: Record<string, unknown>, path: Array<string | number | null>, value: unknown): void {
  let node: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length; i++) {
    const key = path[i] as string | number | null;
    const last = i === path.length - 1;
    const nextKey = path[i + 1];
    const fresh = () => (typeof nextKey === 'number' || nextKey === null ? [] : Object.create(null));
    if (Array.isArray(node)) {
      if (typeof key === 'string') throw new UsageError(`cannot use the key '${key}' on a JSON array`);
      const index = key === null ? node.length : key;
      if (index > 10_000) throw new UsageError(`array index ${index} is too large`);
      if (last) node[index] = value;
      else node = container((node[index] ??= fresh()), path, i);
    } else {
      if (typeof key !== 'string') throw new UsageError('an array key needs a name before it');
      if (key === '__proto__') throw new UsageError(`'__proto__' is not a usable JSON key`);
      if (last) node[key] = value;
      else node = container((node[key] ??= fresh()), path, i);
    }
  }
}

/** What the items ask for, ready for a request. */
export interface BuiltRequest {
  /** Headers to set (null: remove a default header). */
  headers: Array<[string, string | null]>;
  query: Array<[string, string]>;
  /** The body the items make, if any. */
  body:
    | { kind: 'json'; value: Record<string, unknown> }
    | { kind: 'form'; fields: Array<[string, string]> }
    | {
        kind: 'multipart';
        fields: Array<[string, string]>;
        files: Array<{ name: string; path: string; type?: string }>;
      }
    | undefined;
}

/** How the body is sent: JSON unless `--form` or `--multipart` (a file item implies multipart). */
export interface BodyMode {
  form?: boolean;
  multipart?: boolean;
}

async function contents(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Turns parsed items into headers, query and body, reading the files `@` items name. */
export async function buildRequest(items: RequestItem[], mode: BodyMode = {}): Promise<BuiltRequest> {
  const built: BuiltRequest = { headers: [], query: [], body: undefined };
  const fields: Array<[string, string]> = [];
  const json: Record<string, unknown> = Object.create(null);
  const files: Array<{ name: string; path: string; type?: string }> = [];
  let hasData = false;
  for (const item of items) {
    switch (item.kind) {
      case 'header':
        built.headers.push([item.name, item.value]);
        break;
      case 'query':
        built.query.push([item.name, item.fromFile ? await contents(item.value) : item.value]);
        break;
      case 'data': {
        hasData = true;
        const value = item.fromFile ? await contents(item.value) : item.value;
        fields.push([unescape(item.name), value]);
        setPath(json, keyPath(item.name), value);
        break;
      }
      case 'json': {
        hasData = true;
        const text = item.fromFile ? await contents(item.value) : item.value;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw new UsageError(`'${unescape(item.name)}:=${item.value}': the value is not JSON`);
        }
        if (mode.form || mode.multipart) {
          throw new UsageError(`'${unescape(item.name)}:=': raw JSON fields need a JSON body, not --form`);
        }
        setPath(json, keyPath(item.name), value);
        break;
      }
      case 'file':
        files.push({ name: item.name, path: item.path, ...(item.type ? { type: item.type } : {}) });
        break;
    }
  }
  if (files.length > 0 || mode.multipart) built.body = { kind: 'multipart', fields, files };
  else if (mode.form) built.body = hasData ? { kind: 'form', fields } : undefined;
  else if (hasData) built.body = { kind: 'json', value: json };
  return built;
}
