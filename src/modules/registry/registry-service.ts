import type { components, operations } from '../../../generated/api';
import { noteBefore } from '../../audit/audited-change';
import type { Principal } from '../../auth/principal';
import type { Db } from '../../db/db';
import { newId } from '../../db/ids';
import { ConflictError, NotFoundError } from '../../errors/api-error';
import { type AgentRow, type AgentService, effectiveStatus, keyProven } from '../agents';
import type { OrgService } from '../orgs';
import { type ListingRow, ListingStore } from './listing-store';

type Listing = components['schemas']['RegistryListing'];
type NetworkAgent = components['schemas']['NetworkAgent'];
type ListingInput = operations['putAgentListing']['requestBody']['content']['application/json'];

/** What the marketplace knows of a hireable agent. */
export interface ListedAgent {
  agentId: string;
  orgId: string;
  category: string;
  verified: boolean;
}

const toListing = (row: ListingRow, agent: AgentRow): Listing => ({
  id: row.id,
  org_id: row.org_id,
  agent_id: row.agent_id,
  category: row.category,
  description: row.description,
  verified: keyProven(agent) && effectiveStatus(agent) === 'active',
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

/**
 * The registry network: orgs list their own agents (category, description); Professional+ orgs see
 * every org's listings, and the marketplace hires only listed agents that are live. `verified` is
 * read from the agent on every answer, so a revoked key or a kill switch shows at once.
 */
export class RegistryService {
  private readonly store: ListingStore;

  constructor(
    private readonly db: Db,
    private readonly orgs: Pick<OrgService, 'scope'>,
    private readonly agents: Pick<AgentService, 'row'>,
  ) {
    this.store = new ListingStore(db);
  }

  async put(principal: Principal, ref: string, input: ListingInput): Promise<Listing> {
    const agent = await this.agents.row(await this.orgs.scope(principal), ref);
    if (agent.status === 'revoked') throw new ConflictError(`Agent '${agent.id}' is revoked; it cannot be listed.`, 'AGENT_STOPPED');
    return this.db.transaction(async () => {
      const old = await this.store.find(agent.id);
      noteBefore(old ? toListing(old, agent) : null);
      const row = await this.store.upsert({
        id: newId('lst'),
        org_id: agent.org_id,
        agent_id: agent.id,
        category: input.category,
        description: input.description ?? '',
      });
      return toListing(row, agent);
    });
  }

  async delete(principal: Principal, ref: string): Promise<void> {
    const agent = await this.agents.row(await this.orgs.scope(principal), ref);
    await this.db.transaction(async () => {
      const old = await this.store.find(agent.id);
      if (!old) throw new NotFoundError(`Agent '${agent.id}' is not listed on the registry network.`, 'LISTING_NOT_FOUND');
      noteBefore(toListing(old, agent));
      await this.store.delete(agent.id);
    });
  }

  /** The agent, if it is listed and live: what `POST /marketplace/hire` hires and transfers may pay across orgs. */
  async listedAgent(agentId: string): Promise<ListedAgent | undefined> {
    const row = await this.store.live(agentId);
    return row && { agentId: row.agent_id, orgId: row.org_id, category: row.category, verified: row.verified };
  }

  async networkAgents(query: { category?: string; verified_only: boolean; limit: number; offset: number }) {
    const { rows, total } = await this.store.network({
      category: query.category ?? null,
      verifiedOnly: query.verified_only,
      limit: query.limit,
      offset: query.offset,
    });
    const agents: NetworkAgent[] = rows.map((row) => ({
      agent_id: row.agent_id,
      sekuire_id: row.sekuire_id,
      name: row.name,
      category: row.category,
      description: row.description,
      verified: row.verified,
      listed_at: row.listed_at.toISOString(),
    }));
    return { agents, total, limit: query.limit, offset: query.offset };
  }

  async summary() {
    const categories = (await this.store.summary()).map((row) => ({
      category: row.category,
      agents: Number(row.agents),
      verified_agents: Number(row.verified_agents),
    }));
    return {
      total_agents: categories.reduce((sum, row) => sum + row.agents, 0),
      verified_agents: categories.reduce((sum, row) => sum + row.verified_agents, 0),
      categories,
    };
  }
}
