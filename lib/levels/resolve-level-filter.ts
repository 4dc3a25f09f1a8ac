import { escapeLogText } from '../logging/log-text.js';
import { processGlobal } from '../process-global.js';
import { LevelFilter } from './level-filter.js';

/** Values of the environment variable already reported in this process, so several apps warn once. */
const reportedEnvValues = processGlobal('reported-level-env-values', () => new Set<string>());

/**
 * The filter the app runs with. The `level` option is code: an invalid
 * directive throws at start-up. The environment variable wins over it, as
 * RUST_LOG does, but a typo there never stops the app: each invalid directive
 * is reported once, by name, and ignored; the valid ones beside it apply, and
 * with none valid the `level` option does.
 */
export function resolveLevelFilter(
  optionLevel: string | undefined,
  env: { name: string; value: string | undefined },
  logger: { warn(message: string): void },
): LevelFilter {
  const fromCode = LevelFilter.parse(optionLevel || 'info');
  if (!env.value) return fromCode;
  const { filter, invalid } = LevelFilter.parseLossy(env.value);
  if (invalid.length > 0 && !reportedEnvValues.has(env.value)) {
    reportedEnvValues.add(env.value);
    const names = invalid.map((directive) => `"${escapeLogText(directive)}"`).join(', ');
    logger.warn(
      `Ignoring invalid ${env.name} directive${invalid.length > 1 ? 's' : ''} ${names}: ` +
        'expected LEVEL or QUEUE=LEVEL with LEVEL one of off, error, warn, info, debug, trace; ' +
        (filter ? 'the other directives apply' : 'the level option applies instead'),
    );
  }
  return filter ?? fromCode;
}
