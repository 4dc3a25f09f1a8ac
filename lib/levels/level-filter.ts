import { parseSpanLevel, SpanLevel } from './span-level.js';

/** What `LevelFilter.parseLossy` made of a directive string, and the directives it ignored. */
export interface LossyLevelFilter {
  /** Undefined when no directive was valid. */
  filter?: LevelFilter;
  invalid: string[];
}

/**
 * An EnvFilter-style threshold: a default level plus per-queue overrides,
 * written as `info,email=debug,reports=off`.
 */
export class LevelFilter {
  private constructor(
    private readonly defaultThreshold: number,
    private readonly queueThresholds: ReadonlyMap<string, number>,
  ) {}

  /** For directives written in code: an invalid one throws, where the developer sees it at start-up. */
  static parse(directives: string): LevelFilter {
    const { filter, invalid } = LevelFilter.parseLossy(directives);
    if (invalid.length > 0) {
      throw new Error(
        `Invalid level filter directive "${invalid[0]}" in "${directives}": ` +
          'expected LEVEL or QUEUE=LEVEL with LEVEL one of off, error, warn, info, debug, trace',
      );
    }
    return filter ?? new LevelFilter(SpanLevel.INFO, new Map());
  }

  /**
   * For directives from the environment, as EnvFilter's `from_env_lossy`:
   * invalid ones are returned for reporting and ignored, valid ones still apply.
   */
  static parseLossy(directives: string): LossyLevelFilter {
    let defaultThreshold: number = SpanLevel.INFO;
    const queueThresholds = new Map<string, number>();
    const invalid: string[] = [];
    let valid = 0;
    for (const directive of directives.split(',')) {
      const trimmed = directive.trim();
      if (!trimmed) continue;
      const separator = trimmed.lastIndexOf('=');
      const queue = separator === -1 ? undefined : trimmed.slice(0, separator).trim();
      const levelName = separator === -1 ? trimmed : trimmed.slice(separator + 1);
      const level = parseSpanLevel(levelName);
      if (level === undefined || queue === '') {
        invalid.push(trimmed);
        continue;
      }
      valid += 1;
      if (queue === undefined) defaultThreshold = level;
      else queueThresholds.set(queue, level);
    }
    const filter = valid > 0 || invalid.length === 0 ? new LevelFilter(defaultThreshold, queueThresholds) : undefined;
    return { filter, invalid };
  }

  /** Whether a span at `level` on `queueName` is recorded. */
  enabled(level: SpanLevel, queueName: string): boolean {
    return level <= (this.queueThresholds.get(queueName) ?? this.defaultThreshold);
  }
}
