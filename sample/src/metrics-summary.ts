// Reads what the app's Prometheus endpoint serves and sums it up per queue:
// the numbers come from the metrics the OpenTelemetry SDK collected, not from the traces.

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface QueueSummary {
  queue: string;
  /** Attempts processed (a retried job counts once per attempt). */
  attempts: number;
  failed: number;
  p50ProcessSeconds?: number;
  p95ProcessSeconds?: number;
  p95WaitSeconds?: number;
}

const PROCESS = 'messaging_process_duration';
const CONSUMED = 'messaging_client_consumed_messages_total';
const WAIT = 'messaging_bullmq_job_wait_duration';
const QUEUE = 'messaging_destination_name';

export async function scrapeMetrics(metricsUrl: string): Promise<string> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`GET ${metricsUrl} answered ${response.status}`);
  return response.text();
}

/** Per queue: attempts, failed attempts, p50 and p95 processing time, p95 wait. */
export function summarizeQueues(exposition: string): QueueSummary[] {
  const samples = parseExposition(exposition);
  const queues = [...new Set(samples.filter((s) => s.name === CONSUMED).map((s) => s.labels[QUEUE]))].sort();
  return queues.map((queue) => {
    const consumed = samples.filter((s) => s.name === CONSUMED && s.labels[QUEUE] === queue);
    const processBuckets = bucketsOf(samples, PROCESS, queue);
    const waitBuckets = bucketsOf(samples, WAIT, queue);
    return {
      queue,
      attempts: sum(consumed),
      failed: sum(consumed.filter((s) => s.labels.error_type !== undefined)),
      p50ProcessSeconds: quantile(0.5, processBuckets),
      p95ProcessSeconds: quantile(0.95, processBuckets),
      p95WaitSeconds: quantile(0.95, waitBuckets),
    };
  });
}

export function formatSummary(summaries: QueueSummary[]): string {
  const ms = (seconds?: number) => (seconds === undefined ? '-' : `${(seconds * 1000).toFixed(1)} ms`);
  const rows = [
    ['queue', 'attempts', 'failed', 'p50 process', 'p95 process', 'p95 wait'],
    ...summaries.map((s) => [s.queue, String(s.attempts), String(s.failed), ms(s.p50ProcessSeconds), ms(s.p95ProcessSeconds), ms(s.p95WaitSeconds)]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}

function parseExposition(exposition: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of exposition.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || line.startsWith('#')) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]));
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Cumulative bucket counts by upper bound, summed over the label sets (success and failure) of one queue. */
function bucketsOf(samples: Sample[], histogram: string, queue: string): [number, number][] {
  const byBound = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${histogram}_bucket` || s.labels[QUEUE] !== queue) continue;
    const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + s.value);
  }
  return [...byBound].sort(([a], [b]) => a - b);
}

/** Prometheus's histogram_quantile: linear interpolation inside the bucket that holds the rank. */
function quantile(q: number, buckets: [number, number][]): number | undefined {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) return lowerBound; // beyond the last finite bucket: its bound is all we know
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return undefined;
}

function sum(samples: Sample[]): number {
  return samples.reduce((total, s) => total + s.value, 0);
}
