import { diag } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler } from './basic.ts';
import { ParentBasedSampler } from './parent-based.ts';
import { JaegerRemoteSampler } from './remote.ts';
import { TraceIdRatioBasedSampler } from './trace-id-ratio.ts';
import type { Sampler } from './types.ts';

/** Environment variables as `process.env` holds them. */
export type SamplerEnv = Readonly<Record<string, string | undefined>>;

/** Defaults of the `OTEL_TRACES_SAMPLER_ARG` of `jaeger_remote` (OTel SDK environment variables spec). */
export const JAEGER_REMOTE_ARG_DEFAULTS = {
  /**
   * The spec's default (`http://localhost:14250`) is Jaeger's gRPC port; this
   * sampler polls HTTP JSON, so the default is the HTTP sampling endpoint that
   * the Jaeger agent and Traceloom serve on 5778.
   */
  endpoint: 'http://localhost:5778/sampling',
  pollingIntervalMs: 60_000,
  initialSamplingRate: 0.001,
} as const;

const DEFAULT_SAMPLER = 'parentbased_always_on';

function ratioFromArg(arg: string | undefined, sampler: string): number {
  const text = arg?.trim() ?? '';
  if (text === '') return 1;
  const ratio = Number(text);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    diag.warn(`OTEL_TRACES_SAMPLER_ARG "${arg}" is not a ratio in [0, 1] for ${sampler}; using 1`);
    return 1;
  }
  return ratio;
}

/** Parsed `OTEL_TRACES_SAMPLER_ARG` of `jaeger_remote`. */
export interface JaegerRemoteArg {
  readonly endpoint: string;
  readonly pollingIntervalMs: number;
  readonly initialSamplingRate: number;
}

/**
 * Parses `endpoint=URL,pollingIntervalMs=N,initialSamplingRate=R` (any order,
 * any subset). Bad or unknown entries are warned about and the default used.
 */
export function parseJaegerRemoteArg(arg: string | undefined): JaegerRemoteArg {
  let endpoint: string = JAEGER_REMOTE_ARG_DEFAULTS.endpoint;
  let pollingIntervalMs: number = JAEGER_REMOTE_ARG_DEFAULTS.pollingIntervalMs;
  let initialSamplingRate: number = JAEGER_REMOTE_ARG_DEFAULTS.initialSamplingRate;
  for (const part of (arg ?? '').split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq).trim();
    const value = eq < 0 ? '' : entry.slice(eq + 1).trim();
    if (key === 'endpoint') {
      if (URL.canParse(value) && /^https?:$/.test(new URL(value).protocol)) endpoint = value;
      else diag.warn(`OTEL_TRACES_SAMPLER_ARG endpoint "${value}" is not an http(s) URL; using ${endpoint}`);
    } else if (key === 'pollingIntervalMs') {
      const n = Number(value);
      if (value !== '' && Number.isFinite(n) && n > 0) pollingIntervalMs = n;
      else
        diag.warn(
          `OTEL_TRACES_SAMPLER_ARG pollingIntervalMs "${value}" is not a positive number; using ${pollingIntervalMs}`,
        );
    } else if (key === 'initialSamplingRate') {
      const n = Number(value);
      if (value !== '' && Number.isFinite(n) && n >= 0 && n <= 1) initialSamplingRate = n;
      else
        diag.warn(
          `OTEL_TRACES_SAMPLER_ARG initialSamplingRate "${value}" is not in [0, 1]; using ${initialSamplingRate}`,
        );
    } else {
      diag.warn(`OTEL_TRACES_SAMPLER_ARG: unknown jaeger_remote setting "${key}" ignored`);
    }
  }
  return { endpoint, pollingIntervalMs, initialSamplingRate };
}

/** `service.name` as the SDK resource would find it: OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES. */
function serviceNameFromEnv(env: SamplerEnv): string {
  const direct = env.OTEL_SERVICE_NAME?.trim();
  if (direct) return direct;
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === 'service.name') {
      const value = pair.slice(eq + 1).trim();
      try {
        if (value !== '') return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
  }
  return 'unknown_service:node';
}

/**
 * The sampler named by `OTEL_TRACES_SAMPLER` (always_on, always_off,
 * traceidratio, parentbased_always_on, parentbased_always_off,
 * parentbased_traceidratio, jaeger_remote, parentbased_jaeger_remote), with
 * `OTEL_TRACES_SAMPLER_ARG` as its ratio or jaeger_remote settings. Unknown or
 * invalid values are warned about through `diag` and the default
 * (`parentbased_always_on`, ratio 1) is used. Names are case-insensitive.
 * @example samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' })
 */
export function samplerFromEnv(env: SamplerEnv = process.env): Sampler {
  let name = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  if (name === '') name = DEFAULT_SAMPLER;
  const arg = env.OTEL_TRACES_SAMPLER_ARG;
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratioFromArg(arg, name));
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratioFromArg(arg, name)) });
    case 'jaeger_remote':
      return jaegerRemoteFromEnv(env, arg);
    case 'parentbased_jaeger_remote':
      return new ParentBasedSampler({ root: jaegerRemoteFromEnv(env, arg) });
    default:
      diag.warn(`OTEL_TRACES_SAMPLER "${env.OTEL_TRACES_SAMPLER}" is not a known sampler; using ${DEFAULT_SAMPLER}`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function jaegerRemoteFromEnv(env: SamplerEnv, arg: string | undefined): JaegerRemoteSampler {
  const settings = parseJaegerRemoteArg(arg);
  return new JaegerRemoteSampler({
    endpoint: settings.endpoint,
    serviceName: serviceNameFromEnv(env),
    pollingIntervalMs: settings.pollingIntervalMs,
    initialSampler: new TraceIdRatioBasedSampler(settings.initialSamplingRate),
  });
}
