export interface PricedLine {
  quantity: number;
  unitAmount: number;
}

/**
 * Sum of quantity x unit amount in minor units. Inputs are bounded (100 lines x 1000 x 10^9), so
 * the exact result stays below 2^53 and plain integer arithmetic is exact.
 */
export function orderTotal(lines: readonly PricedLine[]): number {
  let total = 0;
  for (const line of lines) total += line.quantity * line.unitAmount;
  return total;
}
