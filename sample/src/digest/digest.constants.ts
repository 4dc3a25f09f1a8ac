export const DIGEST_QUEUE = 'digest';
export const DIGEST_SCHEDULER = 'periodic-digest';

/** How often the digest runs: hourly, unless DIGEST_EVERY_MS says otherwise (`npm run sample` makes it quick). */
export const DIGEST_EVERY_MS = Number(process.env.DIGEST_EVERY_MS) || 60 * 60 * 1000;
