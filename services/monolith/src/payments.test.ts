import { describe, expect, it } from 'vitest';
import { paymentInput, toPayment } from './payments.js';

describe('paymentInput', () => {
  // The original took any amount its column held: 0, refunds, sub-cent amounts (the column rounds them).
  it.each([9.99, 0.01, 0.1 + 0.2, 1234567.89, 100, 0, -1, 9.999, 0.001, -9_999_999_999.99])(
    'accepts %d',
    (amount) => {
      expect(paymentInput.safeParse({ user_id: 1, amount }).success).toBe(true);
    },
  );

  it.each([1e10, -1e10, Number.POSITIVE_INFINITY, Number.NaN])('refuses %d', (amount) => {
    expect(paymentInput.safeParse({ user_id: 1, amount }).success).toBe(false);
  });
});

describe('toPayment', () => {
  it('turns the numeric string into a number and the time into ISO 8601', () => {
    const row = { id: 1, user_id: 2, amount: '14.90', paid_at: new Date('2023-01-15T14:30:00Z') };
    expect(toPayment(row)).toEqual({
      id: 1,
      user_id: 2,
      amount: 14.9,
      timestamp: '2023-01-15T14:30:00.000Z',
    });
  });
});
