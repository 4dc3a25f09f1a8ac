export const EMAIL_QUEUE = 'email';
export const RECEIPTS_QUEUE = 'receipts';

/** Addresses at this domain fail their first attempt every time; the retry succeeds. */
export const FLAKY_DOMAIN = 'flaky.example';

export interface EmailJob {
  to: string;
}

export interface ReceiptJob {
  emailJobId: string;
}
