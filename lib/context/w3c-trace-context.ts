import { InvalidTracingContextError } from './invalid-tracing-context.error.js';

// Grammar of https://www.w3.org/TR/trace-context/ (level 1).
const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const VERSION = /^[0-9a-f]{2}$/;
const FLAGS = /^[0-9a-f]{2}$/;
const TRACE_STATE_KEY = /^(?:[a-z][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})$/;
const TRACE_STATE_VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const ALL_ZEROS = /^0+$/;
const ZERO = 0x30;
const DASH = 0x2d;

export const MAX_TRACE_STATE_MEMBERS = 32;
export const MAX_TRACE_STATE_LENGTH = 512;

export function validateTraceId(traceId: unknown): string {
  if (typeof traceId !== 'string' || !TRACE_ID.test(traceId)) {
    throw new InvalidTracingContextError('traceId', 'expected 32 lower-case hex characters');
  }
  if (ALL_ZEROS.test(traceId)) throw new InvalidTracingContextError('traceId', 'must not be all zeros');
  return traceId;
}

export function validateSpanId(spanId: unknown): string {
  if (typeof spanId !== 'string' || !SPAN_ID.test(spanId)) {
    throw new InvalidTracingContextError('spanId', 'expected 16 lower-case hex characters');
  }
  if (ALL_ZEROS.test(spanId)) throw new InvalidTracingContextError('spanId', 'must not be all zeros');
  return spanId;
}

export function validateTraceFlags(traceFlags: unknown): number {
  if (typeof traceFlags !== 'number' || !Number.isInteger(traceFlags) || traceFlags < 0 || traceFlags > 0xff) {
    throw new InvalidTracingContextError('traceFlags', 'expected an integer from 0 to 255');
  }
  return traceFlags;
}

export function validateTraceState(traceState: unknown): string {
  if (typeof traceState !== 'string') throw new InvalidTracingContextError('traceState', 'expected a string');
  if (traceState.length > MAX_TRACE_STATE_LENGTH) {
    throw new InvalidTracingContextError('traceState', `longer than ${MAX_TRACE_STATE_LENGTH} characters`);
  }
  const keys = new Set<string>();
  for (const rawMember of traceState.split(',')) {
    const member = rawMember.trim();
    if (!member) continue;
    const separator = member.indexOf('=');
    const key = member.slice(0, separator);
    if (separator === -1 || !TRACE_STATE_KEY.test(key) || !TRACE_STATE_VALUE.test(member.slice(separator + 1))) {
      throw new InvalidTracingContextError('traceState', 'a list member is not key=value as W3C defines them');
    }
    if (keys.has(key)) throw new InvalidTracingContextError('traceState', `key "${key}" appears twice`);
    keys.add(key);
  }
  if (keys.size > MAX_TRACE_STATE_MEMBERS) {
    throw new InvalidTracingContextError('traceState', `more than ${MAX_TRACE_STATE_MEMBERS} list members`);
  }
  return traceState;
}

export interface ParsedTraceparent {
  traceId: string;
  spanId: string;
  traceFlags: number;
}

export function parseTraceparent(traceparent: unknown): ParsedTraceparent {
  if (typeof traceparent !== 'string') throw new InvalidTracingContextError('traceparent', 'expected a string');
  const [version, traceId, spanId, flags, ...rest] = traceparent.split('-');
  if (!VERSION.test(version) || version === 'ff') {
    throw new InvalidTracingContextError('traceparent', 'unsupported version');
  }
  // Version 00 has exactly four fields; later versions may append more.
  if (version === '00' ? rest.length > 0 : traceparent.length > 55 && traceparent[55] !== '-') {
    throw new InvalidTracingContextError('traceparent', 'unexpected trailing data');
  }
  if (flags === undefined || !FLAGS.test(flags)) {
    throw new InvalidTracingContextError('traceparent', 'expected 2 lower-case hex characters of flags');
  }
  return {
    traceId: validateTraceId(traceId),
    spanId: validateSpanId(spanId),
    traceFlags: Number.parseInt(flags, 16),
  };
}

/** Length of a version-00 traceparent: `00-` + 32 + `-` + 16 + `-` + 2. */
export const TRACEPARENT_V00_LENGTH = 55;

/**
 * The common case checked character by character, without splitting or regular
 * expressions: whether the 55 characters of `text` from `start` are a version-00
 * traceparent with a valid trace id, span id and flags. What follows them is the
 * caller's to check. Anything else is left to parseTraceparent, which accepts or
 * explains it.
 */
export function isTraceparentV00(text: string, start = 0): boolean {
  return (
    text.length >= start + TRACEPARENT_V00_LENGTH &&
    text.charCodeAt(start) === ZERO &&
    text.charCodeAt(start + 1) === ZERO &&
    text.charCodeAt(start + 2) === DASH &&
    isLowerHexId(text, start + 3, start + 35) &&
    text.charCodeAt(start + 35) === DASH &&
    isLowerHexId(text, start + 36, start + 52) &&
    text.charCodeAt(start + 52) === DASH &&
    hexValue(text.charCodeAt(start + 53)) >= 0 &&
    hexValue(text.charCodeAt(start + 54)) >= 0
  );
}

/** The fields of a traceparent that isTraceparentV00 accepted at `start`. */
export function readTraceparentV00(text: string, start: number): ParsedTraceparent {
  return {
    traceId: text.slice(start + 3, start + 35),
    spanId: text.slice(start + 36, start + 52),
    traceFlags: hexValue(text.charCodeAt(start + 53)) * 16 + hexValue(text.charCodeAt(start + 54)),
  };
}

/** Lower-case hex from `from` to `to` (exclusive), not all zeros. */
function isLowerHexId(text: string, from: number, to: number): boolean {
  let nonZero = false;
  for (let index = from; index < to; index++) {
    const code = text.charCodeAt(index);
    if (hexValue(code) < 0) return false;
    if (code !== ZERO) nonZero = true;
  }
  return nonZero;
}

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

export function formatTraceparent(traceId: string, spanId: string, traceFlags: number): string {
  return `00-${traceId}-${spanId}-${formatTraceFlags(traceFlags)}`;
}

export function formatTraceFlags(traceFlags: number): string {
  return traceFlags.toString(16).padStart(2, '0');
}
