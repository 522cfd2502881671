import type { BillingConfig } from '../../config/config';

/** How an org's fee on metered calls is computed. */
export type FeeSettings = BillingConfig;

/**
 * Where an org's fee settings come from. Today every org has the operator's configured defaults;
 * per-org billing settings will be another source behind the same face.
 */
export interface FeeSettingsSource {
  forOrg(orgId: string): Promise<FeeSettings>;
}

export class ConfiguredFeeSettings implements FeeSettingsSource {
  constructor(private readonly settings: FeeSettings) {}

  async forOrg(): Promise<FeeSettings> {
    return this.settings;
  }
}

/**
 * Warden's fee on one call, in micro-dollars. Denied calls carry none. A take rate is rounded half
 * up to the micro-dollar in integer arithmetic (BigInt: cost × bps can pass 2^53).
 */
export function feeMicros(settings: FeeSettings, allow: boolean, costMicros: number): number {
  if (!allow) return 0;
  if (settings.feeMode === 'per_action') return settings.feePerActionMicros;
  return Number((BigInt(costMicros) * BigInt(settings.takeRateBps) + 5_000n) / 10_000n);
}
