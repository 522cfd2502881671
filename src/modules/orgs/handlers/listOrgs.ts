import type { Handler } from '../../handler';

export const listOrgs: Handler<'listOrgs'> = async ({ services, principal, query }) => {
  const page = await services.orgs.list(principal, query.limit ?? 50, query.cursor);
  // Seed 001 shows each org with its Stripe customer, which the billing settings keep.
  const customers = await services.billingSettings.stripeCustomers(page.orgs.map((org) => org.id));
  return { status: 200, body: { ...page, orgs: page.orgs.map((org) => ({ ...org, stripe_customer_id: customers.get(org.id) ?? null })) } };
};
