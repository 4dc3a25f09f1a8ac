import type { Interval } from './statistics.js';

export type Workload = 'add' | 'addBulk' | 'flow';

export interface ProducerCaseResult {
  key: string;
  label: string;
  workload: Workload;
  /** CPU us per job: median and interquartile range across rounds. */
  cpuMicrosPerJob: number;
  cpuIqr: Interval;
  /** Over the workload's baseline in the same round; absent for the baseline itself. */
  added?: AddedCpu;
}

export interface AddedCpu {
  over: string;
  /** Median of the per-round differences, us per job. */
  median: number;
  /** 95% bootstrap interval of that median. */
  interval: Interval;
  /** The interval excludes 0. */
  resolved: boolean;
}

export interface ProducerRatio {
  /** Median added CPU of `of` over the median added CPU of `over`, both against the plain case. */
  of: string;
  over: string;
  ratio: number | null;
  interval: Interval | null;
  /** Both added CPUs resolved (their intervals exclude 0), so the ratio means something. */
  resolved: boolean;
}

export interface ProducerResults {
  rounds: number;
  batch: number;
  concurrency: number;
  spansExported: number;
  cases: ProducerCaseResult[];
  ratios: ProducerRatio[];
}

const fixed = (n: number) => n.toFixed(1);

/** A difference as a number only when its interval excludes 0. */
export function addedText({ median, interval, resolved }: AddedCpu): string {
  return `${resolved ? fixed(median) : 'not resolved'} [${interval.map(fixed).join(', ')}]`;
}

export function ratioText({ ratio, interval }: ProducerRatio): string {
  return ratio === null || interval === null ? 'not resolved' : `${ratio.toFixed(2)}x [${interval.map((n) => n.toFixed(2)).join(', ')}]`;
}

/** The producer benchmark as a Markdown table, then its ratios. */
export function producerLines({ cases, ratios }: ProducerResults): string[] {
  return [
    '| case | CPU us/job, median [IQR] | added over the plain case, median [95% interval] |',
    '|---|---|---|',
    ...cases.map((c) => `| ${c.label} | ${fixed(c.cpuMicrosPerJob)} [${c.cpuIqr.map(fixed).join(', ')}] | ${c.added ? addedText(c.added) : 'baseline'} |`),
    '',
    ...ratios.map((r) => `- ${r.of} over ${r.over} (added CPU): ${ratioText(r)}`),
  ];
}
