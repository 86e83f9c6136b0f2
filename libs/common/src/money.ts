/**
 * Currencies accepted for payment, with their ISO 4217 minor-unit exponent and Stripe's minimum
 * charge in minor units (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts).
 * Codes are lowercase, as Stripe writes them.
 */
const CURRENCIES = {
  aud: { exponent: 2, minimum: 50 },
  brl: { exponent: 2, minimum: 50 },
  cad: { exponent: 2, minimum: 50 },
  chf: { exponent: 2, minimum: 50 },
  czk: { exponent: 2, minimum: 1500 },
  dkk: { exponent: 2, minimum: 250 },
  eur: { exponent: 2, minimum: 50 },
  gbp: { exponent: 2, minimum: 30 },
  hkd: { exponent: 2, minimum: 400 },
  huf: { exponent: 2, minimum: 17500 },
  inr: { exponent: 2, minimum: 50 },
  jpy: { exponent: 0, minimum: 50 },
  krw: { exponent: 0, minimum: 100 },
  mxn: { exponent: 2, minimum: 1000 },
  myr: { exponent: 2, minimum: 200 },
  nok: { exponent: 2, minimum: 300 },
  nzd: { exponent: 2, minimum: 50 },
  pln: { exponent: 2, minimum: 200 },
  ron: { exponent: 2, minimum: 200 },
  sek: { exponent: 2, minimum: 300 },
  sgd: { exponent: 2, minimum: 50 },
  thb: { exponent: 2, minimum: 1000 },
  usd: { exponent: 2, minimum: 50 },
  zar: { exponent: 2, minimum: 50 },
} as const satisfies Record<string, { exponent: number; minimum: number }>;

export type CurrencyCode = keyof typeof CURRENCIES;

export const SUPPORTED_CURRENCIES = Object.keys(CURRENCIES) as CurrencyCode[];

/** Stripe's upper bound for one charge: eight digits of minor units. */
export const MAX_CHARGE_AMOUNT = 99_999_999;

/** Accepts a code in any letter case; returns the lowercase code when we support it. */
export function parseCurrency(value: string): CurrencyCode | undefined {
  const code = value.toLowerCase();
  return Object.hasOwn(CURRENCIES, code) ? (code as CurrencyCode) : undefined;
}

export function minimumChargeAmount(currency: CurrencyCode): number {
  return CURRENCIES[currency].minimum;
}

/** Why an amount cannot be charged in a currency, or undefined when it can. */
export function chargeAmountProblem(amount: number, currency: CurrencyCode): string | undefined {
  if (!Number.isSafeInteger(amount)) return 'must be an integer number of minor units';
  const minimum = minimumChargeAmount(currency);
  if (amount < minimum) return `must be at least ${minimum} (${currency} minor units)`;
  if (amount > MAX_CHARGE_AMOUNT) return `must be at most ${MAX_CHARGE_AMOUNT} minor units`;
  return undefined;
}
