/** Money inside Warden is integer micro-dollars; the API shows US dollars as JSON numbers (DESIGN.md §7). */
export const MICROS_PER_USD = 1_000_000;

/** US dollars (at most 6 decimals, as the spec allows) to whole micro-dollars. */
export const usdToMicros = (usd: number): number => Math.round(usd * MICROS_PER_USD);

/** Micro-dollars (a number, or a bigint column's text) to US dollars. */
export const microsToUsd = (micros: number | string): number => Number(micros) / MICROS_PER_USD;
