import { ValidationError } from '../../errors/api-error';

/** ISO 4217 codes whose minor unit is not a hundredth: the number of decimals an amount's minor unit stands for. */
const EXPONENT_EXCEPTIONS: Record<string, number> = {
  ...Object.fromEntries('BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF'.split(' ').map((code) => [code, 0])),
  ...Object.fromEntries('BHD IQD JOD KWD LYD OMR TND'.split(' ').map((code) => [code, 3])),
  CLF: 4,
  UYW: 4,
};

/** The active ISO 4217 currencies with a minor unit (the precious metals, XDR and XSU have none and are left out). */
const TWO_DECIMALS = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF
  CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD
  KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB
  PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH
  USD USN UYU UZS VED VES WST XCD YER ZAR ZMW ZWG`;

const CURRENCIES: ReadonlyMap<string, number> = new Map([
  ...TWO_DECIMALS.split(/\s+/).map((code): [string, number] => [code, 2]),
  ...Object.entries(EXPONENT_EXCEPTIONS),
]);

/** The number of decimals of the currency's minor unit, or undefined for a code Warden does not know. */
export function currencyExponent(code: string): number | undefined {
  return CURRENCIES.get(code);
}

/** 422 `UNKNOWN_CURRENCY` unless Warden knows the code; amounts in it are then whole minor units. */
export function assertKnownCurrency(code: string, field = 'currency'): string {
  if (CURRENCIES.has(code)) return code;
  throw new ValidationError(`'${code}' is not an ISO 4217 currency Warden knows.`, 'UNKNOWN_CURRENCY', [
    { location: 'body', field, message: 'is not a known ISO 4217 currency code', rule: 'currency' },
  ]);
}
