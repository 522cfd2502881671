import { createOrg } from './createOrg';
import { listOrgs } from './listOrgs';
import { listPlans } from './listPlans';
import { setOrgPlan } from './setOrgPlan';

export const orgsHandlers = { listOrgs, createOrg, setOrgPlan, listPlans };
