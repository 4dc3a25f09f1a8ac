import { parseSpanLevel, SpanLevel } from './span-level.js';

/**
 * An EnvFilter-style threshold: a default level plus per-queue overrides,
 * written as `info,email=debug,reports=off`.
 */
export class LevelFilter {
  private constructor(
    private readonly defaultThreshold: number,
    private readonly queueThresholds: ReadonlyMap<string, number>,
  ) {}

  static parse(directives: string): LevelFilter {
    let defaultThreshold: number = SpanLevel.INFO;
    const queueThresholds = new Map<string, number>();
    for (const directive of directives.split(',')) {
      const trimmed = directive.trim();
      if (!trimmed) continue;
      const separator = trimmed.lastIndexOf('=');
      const queue = separator === -1 ? undefined : trimmed.slice(0, separator).trim();
      const levelName = separator === -1 ? trimmed : trimmed.slice(separator + 1);
      const level = parseSpanLevel(levelName);
      if (level === undefined || queue === '') {
        throw new Error(
          `Invalid level filter directive "${trimmed}" in "${directives}": ` +
            'expected LEVEL or QUEUE=LEVEL with LEVEL one of off, error, warn, info, debug, trace',
        );
      }
      if (queue === undefined) defaultThreshold = level;
      else queueThresholds.set(queue, level);
    }
    return new LevelFilter(defaultThreshold, queueThresholds);
  }

  /** Whether a span at `level` on `queueName` is recorded. */
  enabled(level: SpanLevel, queueName: string): boolean {
    return level <= (this.queueThresholds.get(queueName) ?? this.defaultThreshold);
  }
}
