import type { Job } from 'bullmq';
import { DEFAULT_LONG_DELAY_MS, MAX_STORED_CONTEXT_LENGTH, PROPAGATION_STYLE_KEY } from '../job-tracing.constants.js';

/**
 * How a task span relates to the context stored on its job:
 * - `child`: continues the stored trace, as a child of the stored span;
 * - `link`: starts a new trace whose root links to the stored span;
 * - `none`: starts a new trace, unrelated.
 */
export type PropagationStyle = 'child' | 'link' | 'none';

const STYLES: readonly PropagationStyle[] = ['child', 'link', 'none'];

export function isPropagationStyle(value: unknown): value is PropagationStyle {
  return STYLES.includes(value as PropagationStyle);
}

/** For options a developer passes: a wrong value is a programming error, reported at once. */
export function assertPropagationStyle(value: unknown, where: string): PropagationStyle | undefined {
  if (value === undefined || isPropagationStyle(value)) return value;
  throw new TypeError(`${where}: propagation must be one of ${STYLES.join(', ')}; got ${describe(value)}`);
}

/**
 * The stored metadata with the job's style beside the W3C headers. A propagator
 * ignores headers it does not know, so bullmq-otel still reads the carrier.
 * Without a style the metadata is left byte for byte as it was.
 */
export function withPropagationStyle(metadata: string | undefined, style: PropagationStyle | undefined): string | undefined {
  if (style === undefined || metadata === undefined) return metadata;
  let carrier: unknown;
  try {
    carrier = JSON.parse(metadata);
  } catch {
    carrier = undefined;
  }
  if (typeof carrier !== 'object' || carrier === null || Array.isArray(carrier)) {
    throw new TypeError('propagation needs opts.telemetry.metadata to be a JSON object, as a propagator writes it');
  }
  return JSON.stringify({ ...carrier, [PROPAGATION_STYLE_KEY]: style });
}

export type StoredStyleResult = { style?: PropagationStyle } | { problem: string };

/** The style a job carries, if any. Never throws; costs one substring search when there is none. */
export function readStoredStyle(job: Job): StoredStyleResult {
  const metadata: unknown = job.opts?.telemetry?.metadata;
  if (typeof metadata !== 'string' || !metadata.includes(PROPAGATION_STYLE_KEY)) return {};
  if (metadata.length > MAX_STORED_CONTEXT_LENGTH) return {}; // the stored context reader reports that
  let value: unknown;
  try {
    value = (JSON.parse(metadata) as Record<string, unknown> | null)?.[PROPAGATION_STYLE_KEY];
  } catch {
    return {}; // not JSON: the stored context reader reports that
  }
  if (value === undefined || isPropagationStyle(value)) return { style: value };
  return { problem: `its stored propagation style is ${describe(value)}, not one of ${STYLES.join(', ')}` };
}

export interface PropagationDefaults {
  /** A job delayed by at least this many milliseconds defaults to `link`. */
  longDelayMs: number;
}

/** The module's `longDelayMs`, checked: a wrong value is reported at start-up, not on every delayed job. */
export function propagationDefaults(longDelayMs: unknown = DEFAULT_LONG_DELAY_MS): PropagationDefaults {
  if (typeof longDelayMs !== 'number' || Number.isNaN(longDelayMs) || longDelayMs < 0) {
    throw new TypeError(`longDelayMs must be a number of milliseconds, 0 or more (Infinity: never); got ${describe(longDelayMs)}`);
  }
  return { longDelayMs };
}

export interface PropagationChoice {
  /** The job's own style wins over the strategy's. */
  jobStyle?: PropagationStyle;
  strategyStyle?: PropagationStyle;
  /** The scheduler that made this run, if any. */
  schedulerId?: string;
  delayMs: number;
}

/**
 * The job's style, else the strategy's, else `link` for a long delay, else `child`.
 * A run of a job scheduler is never a child: one trace per run, linked to the creator.
 */
export function resolvePropagation(choice: PropagationChoice, defaults: PropagationDefaults): PropagationStyle {
  const style =
    choice.jobStyle ?? choice.strategyStyle ?? (choice.delayMs >= defaults.longDelayMs ? 'link' : 'child');
  return style === 'child' && choice.schedulerId !== undefined ? 'link' : style;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `"${value.slice(0, 40)}"` : `a ${value === null ? 'null' : typeof value}`;
}
