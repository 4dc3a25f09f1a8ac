import { afterEach, beforeEach, jest } from '@jest/globals';

/** Captures what loggers write to stdout and stderr during each test; `lines()` splits it as a log shipper would. */
export function captureOutput(): { text(): string; lines(): string[] } {
  let chunks: string[] = [];
  beforeEach(() => {
    chunks = [];
    const capture = (chunk: unknown) => {
      chunks.push(String(chunk));
      return true;
    };
    jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });
  return {
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n'),
  };
}
