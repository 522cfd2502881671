export {
  BillingService,
  type BudgetReservation,
  type BudgetReservationRequest,
  type MeteredCall,
  type SpendAdjustment,
  utcDay,
  utcMidnightAfter,
} from './billing-service';
export { BillingSettingsService, OrgFeeSettings } from './billing-settings-service';
export type { GovernanceBasis } from './billing-store';
export { ConfiguredFeeSettings, type FeeSettings, type FeeSettingsSource, feeMicros } from './fees';
export { billingHandlers } from './handlers';
export { StripeBillingService } from './stripe-service';
