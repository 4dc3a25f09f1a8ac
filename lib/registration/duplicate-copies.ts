import { WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Worker } from 'bullmq';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LIBRARY_LOG_CONTEXT } from '../job-tracing.constants.js';
import { workerOf } from './worker-of.js';

const NEST_BULLMQ = '@nestjs/bullmq';
const BULLMQ = 'bullmq';
/** How deep below the working directory other installed copies are looked for (monorepo packages, fixtures). */
const MAX_SEARCH_DEPTH = 4;
const SKIPPED_DIRECTORIES = new Set(['.git', 'dist', 'coverage']);

/**
 * A second copy of @nestjs/bullmq (monorepos, nested node_modules, tests importing a package's
 * source) registers its @Processor classes through its own ProcessorDecoratorService, which this
 * library never sees: their jobs would run untraced without a word. Checked once, at start-up.
 */
@Injectable()
export class DuplicateCopiesCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger(LIBRARY_LOG_CONTEXT);

  constructor(private readonly discovery: DiscoveryService) {}

  onApplicationBootstrap(): void {
    const instances = this.discovery.getProviders().map((wrapper) => wrapper.instance as unknown);
    const warning = duplicateCopiesWarning(instances);
    if (warning) this.logger.warn(warning);
  }
}

/** One line naming the copies and the fix, or undefined when the application uses the copies this library uses. */
export function duplicateCopiesWarning(instances: unknown[], searchRoot = process.cwd()): string | undefined {
  const here = libraryFile();
  const ours = packageRoot(here, NEST_BULLMQ);
  const ourBullmq = packageRoot(here, BULLMQ);
  const foreignProcessors = instances.filter(isForeignWorkerHost).map((instance) => instance.constructor.name);
  const foreignWorkers = instances.some(
    (instance) => instance instanceof WorkerHost && workerOf(instance) !== undefined && !(workerOf(instance) instanceof Worker),
  );
  const nestsBullmq = ours && packageRoot(join(ours, 'package.json'), BULLMQ);
  const bullmqCopies = foreignWorkers || (nestsBullmq && nestsBullmq !== ourBullmq);
  if (!foreignProcessors.length && !bullmqCopies) return undefined;

  const problems: string[] = [];
  if (foreignProcessors.length) {
    problems.push(
      `${copiesOf(NEST_BULLMQ, ours, searchRoot)}; the jobs of ${foreignProcessors.join(', ')}, registered through another copy, run untraced`,
    );
  }
  if (bullmqCopies) {
    problems.push(`${copiesOf(BULLMQ, ourBullmq, searchRoot)}; Workers of another copy are not traced`);
  }
  const packages = [foreignProcessors.length && NEST_BULLMQ, bullmqCopies && BULLMQ].filter(Boolean).join(' and ');
  return `Several copies of ${packages} are loaded: ${problems.join('. ')}. Run \`npm ls ${packages.replace(' and ', ' ')}\` and dedupe (\`npm dedupe\`, or one version range in every package.json) so that one copy is installed.`;
}

function copiesOf(name: string, ours: string | undefined, searchRoot: string): string {
  const others = installedCopies(name, searchRoot).filter((path) => path !== ours);
  const elsewhere = others.length ? others.join(' and ') : 'a path not found under the working directory';
  return `${name} at ${ours ?? '(unresolved)'} (the one nestjs-job-tracing hooks into) and ${elsewhere}`;
}

/** An instance of a class that extends another copy's WorkerHost. */
function isForeignWorkerHost(instance: unknown): instance is object {
  if (typeof instance !== 'object' || instance === null || instance instanceof WorkerHost) return false;
  for (let prototype = Object.getPrototypeOf(instance); prototype; prototype = Object.getPrototypeOf(prototype)) {
    if (prototype.constructor?.name === 'WorkerHost') return true;
  }
  return false;
}

/**
 * A file of this package, to resolve its peers from: `__filename` in the CommonJS build; in the
 * ES module build (which cannot name `import.meta` in a source shared with the CommonJS one), the
 * package as the application at the working directory resolves it.
 */
function libraryFile(): string {
  if (typeof __filename === 'string') return __filename;
  const fromCwd = join(process.cwd(), 'index.js');
  try {
    return createRequire(fromCwd).resolve('nestjs-job-tracing/package.json');
  } catch {
    return fromCwd;
  }
}

/** The real path of package `name` as resolved from the file `from`, or undefined. */
function packageRoot(from: string, name: string): string | undefined {
  try {
    return realpathSync(dirname(createRequire(from).resolve(`${name}/package.json`)));
  } catch {
    return undefined;
  }
}

/** Every installed copy of `name` under `root`: in its node_modules, nested ones, and those of sub-folders. */
function installedCopies(name: string, root: string): string[] {
  const found = new Set<string>();
  const inNodeModules = (nodeModules: string, depth: number): void => {
    const candidate = join(nodeModules, name);
    if (existsSync(join(candidate, 'package.json'))) found.add(realpathSync(candidate));
    if (depth >= MAX_SEARCH_DEPTH) return;
    for (const entry of directories(nodeModules)) {
      const packages = entry.startsWith('@') ? directories(join(nodeModules, entry)).map((scoped) => join(entry, scoped)) : [entry];
      for (const pkg of packages) {
        const nested = join(nodeModules, pkg, 'node_modules');
        if (existsSync(nested)) inNodeModules(nested, depth + 1);
      }
    }
  };
  const inFolder = (folder: string, depth: number): void => {
    for (const entry of directories(folder)) {
      if (entry === 'node_modules') inNodeModules(join(folder, entry), depth);
      else if (depth < MAX_SEARCH_DEPTH && !entry.startsWith('.') && !SKIPPED_DIRECTORIES.has(entry)) inFolder(join(folder, entry), depth + 1);
    }
  };
  inFolder(root, 0);
  return [...found];
}

function directories(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch {
    return [];
  }
}
