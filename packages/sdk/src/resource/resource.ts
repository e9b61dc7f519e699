import { arch, hostname, platform } from 'node:os';
import { basename } from 'node:path';
import { type Attributes, diag } from '@opentelemetry/api';
import type { KeyValue, Resource } from '@traceloom/model';
import { toAnyValue } from '../trace/attributes.ts';

/** The SDK's name and version as reported in `telemetry.sdk.*`. */
export const SDK_NAME = 'traceloom';
/** Kept in step with packages/sdk/package.json. */
export const SDK_VERSION = '0.1.0';

/** What the resource is built from; every field is optional. */
export interface ResourceOptions {
  /** `service.name`; wins over everything else. @default OTEL_SERVICE_NAME, else `unknown_service:<process>` */
  serviceName?: string;
  /** Extra resource attributes; they win over detected ones and over OTEL_RESOURCE_ATTRIBUTES. */
  attributes?: Attributes;
  /** The resource's schema URL. @default '' */
  schemaUrl?: string;
  /** Where OTEL_* variables are read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** `process.arch` to the semantic conventions' `host.arch` values. */
const HOST_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  ia32: 'x86',
  arm: 'arm32',
  ppc64: 'ppc64',
  s390x: 's390x',
};

/** `process.platform` to the semantic conventions' `os.type` values. */
const OS_TYPE: Readonly<Record<string, string>> = {
  win32: 'windows',
  sunos: 'solaris',
  aix: 'aix',
  darwin: 'darwin',
  freebsd: 'freebsd',
  linux: 'linux',
  netbsd: 'netbsd',
  openbsd: 'openbsd',
};

/**
 * Parses OTEL_RESOURCE_ATTRIBUTES: `key1=value1,key2=value2`, keys and values
 * percent-encoded as in W3C Baggage. Per the OpenTelemetry resource SDK spec,
 * a value that cannot be parsed is discarded as a whole (with a diagnostic),
 * rather than half applied.
 */
export function parseResourceAttributesEnv(raw: string | undefined): Attributes {
  const out: Attributes = {};
  if (raw === undefined || raw.trim() === '') return out;
  for (const member of raw.split(',')) {
    if (member.trim() === '') continue;
    const eq = member.indexOf('=');
    if (eq <= 0) {
      diag.warn(`traceloom: OTEL_RESOURCE_ATTRIBUTES member "${member}" is not key=value; the variable is ignored`);
      return {};
    }
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(member.slice(0, eq).trim());
      value = decodeURIComponent(member.slice(eq + 1).trim());
    } catch {
      diag.warn(
        `traceloom: OTEL_RESOURCE_ATTRIBUTES has a bad percent-encoding in "${member}"; the variable is ignored`,
      );
      return {};
    }
    if (key === '') {
      diag.warn('traceloom: OTEL_RESOURCE_ATTRIBUTES has an empty key; the variable is ignored');
      return {};
    }
    out[key] = value;
  }
  return out;
}

/** The attributes every resource of this process carries: SDK, process, runtime, host, OS. */
export function detectedResourceAttributes(): Attributes {
  return {
    'telemetry.sdk.name': SDK_NAME,
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.version': SDK_VERSION,
    'process.pid': process.pid,
    'process.executable.name': basename(process.argv0 || process.execPath),
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'process.runtime.description': 'Node.js',
    'host.name': hostname(),
    'host.arch': HOST_ARCH[arch()] ?? arch(),
    'os.type': OS_TYPE[platform()] ?? platform(),
  };
}

/**
 * Builds the provider's resource once. Precedence, lowest first: detected
 * attributes, OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME,
 * `options.attributes`, `options.serviceName`. Without any service name it is
 * `unknown_service:<process executable>`, as the spec asks.
 */
export function buildResource(options: ResourceOptions = {}): Resource {
  const env = options.env ?? process.env;
  const merged: Attributes = {
    'service.name': `unknown_service:${basename(process.argv0 || process.execPath)}`,
    ...detectedResourceAttributes(),
    ...parseResourceAttributesEnv(env.OTEL_RESOURCE_ATTRIBUTES),
  };
  const envService = env.OTEL_SERVICE_NAME?.trim();
  if (envService !== undefined && envService !== '') merged['service.name'] = envService;
  if (options.attributes !== undefined) Object.assign(merged, options.attributes);
  if (options.serviceName !== undefined && options.serviceName !== '') merged['service.name'] = options.serviceName;
  const attributes: KeyValue[] = [];
  for (const key of Object.keys(merged)) {
    const raw = merged[key];
    if (raw === undefined || raw === null || key === '') continue;
    const value = toAnyValue(raw, Number.POSITIVE_INFINITY);
    if (value === undefined) {
      diag.warn(`traceloom: dropped invalid value of resource attribute "${key}"`);
      continue;
    }
    attributes.push({ key, value });
  }
  return Object.freeze({
    attributes: Object.freeze(attributes),
    droppedAttributesCount: 0,
    schemaUrl: options.schemaUrl ?? '',
  });
}
