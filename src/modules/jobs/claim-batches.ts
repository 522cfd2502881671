/**
 * Group commit for job claims. The claims that arrive while a batch is being claimed wait and go
 * together in the next batch, which `claim` runs in one transaction: a batch pays one claim
 * statement, one BEGIN, one COMMIT (one flush of the log) and one chaining of its audit events,
 * where each claim alone would pay one of each. Alone, a claim waits for nothing.
 *
 * The next batch starts once the previous one has committed (its audit events are chained after,
 * without it waiting): the claims that arrive meanwhile make the next batch larger, which is what
 * saves statements under load.
 * When a batch of several fails (one claim's error rolls back the whole transaction), each of its
 * claims runs again alone, so an error reaches only the caller whose claim caused it.
 */
export class ClaimBatches<Claim, Outcome> {
  private queued: Array<{ claim: Claim; resolve: (outcome: Outcome) => void; reject: (error: unknown) => void }> = [];
  private claiming = false;

  constructor(
    /** Runs a batch in one transaction; one outcome per claim, in order. */
    private readonly claim: (claims: Claim[]) => Promise<Outcome[]>,
    private readonly maxBatch: number,
  ) {}

  add(claim: Claim): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queued.push({ claim, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.claiming || this.queued.length === 0) return;
    this.claiming = true;
    const batch = this.queued.splice(0, this.maxBatch);
    this.claim(batch.map((entry) => entry.claim)).then(
      (outcomes) => {
        this.claiming = false;
        this.next();
        for (const [index, entry] of batch.entries()) entry.resolve(outcomes[index]!);
      },
      (error: unknown) => {
        this.claiming = false;
        this.next();
        if (batch.length === 1) return batch[0]!.reject(error);
        for (const entry of batch) this.claim([entry.claim]).then(([outcome]) => entry.resolve(outcome!), entry.reject);
      },
    );
  }
}
