import { listOrgs } from './listOrgs';
import { createOrg } from './createOrg';
import { setOrgPlan } from './setOrgPlan';
import { listPlans } from './listPlans';

export const orgsHandlers = { listOrgs, createOrg, setOrgPlan, listPlans };
