/** Generated from openapi/ by `npm run generate`. Do not edit. */
export interface paths {
    "/.well-known/jwks.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Warden's public signing keys (JWKS)
         * @description The Ed25519 public keys Warden signs trust headers with, as a JSON Web Key Set (RFC 7517,
         *     OKP keys per RFC 8037). Public and cacheable; receivers verify `POST /api/v1/trust/headers`
         *     output with it, offline.
         *
         *     Operation id: `getJwks`.
         */
        get: operations["getJwks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/auth/request-pin": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Request an admin login PIN by email
         * @description Starts a platform-admin login. When the email is one of `PLATFORM_ADMIN_EMAILS`, a 6-digit
         *     PIN is emailed; it expires after 5 minutes, allows at most 5 attempts and works once. The
         *     answer has the same shape and status whether or not the email belongs to an admin, so it
         *     cannot be used to discover admin accounts. Without SMTP the mail goes to the server log.
         *     Rate-limited per IP and per email.
         *
         *     Audit: `admin.pin_requested` in the platform chain (actor `anonymous` with the email,
         *     resource the challenge); outcome `failure` when the email is not an admin's.
         *
         *     Operation id: `requestAdminPin`.
         */
        post: operations["requestAdminPin"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/admin/auth/verify-pin": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Exchange an admin PIN for a session token
         * @description Checks the PIN of a challenge. A right PIN, in time, on its first successful use, returns an
         *     `adm_…` session token, used as `Authorization: Bearer adm_…` until `expires_at`
         *     (`ADMIN_SESSION_TTL_MINUTES`, 7 hours by default). A wrong PIN counts an attempt; after the
         *     fifth the challenge is dead. Every failure (unknown challenge, wrong email, wrong, expired or
         *     used PIN, too many attempts) answers 401 with a code saying which.
         *
         *     Audit: `admin.login` in the platform chain, actor the admin (`admin_session`, the email),
         *     resource the new session; the fifth wrong PIN is `admin.pin_locked`.
         *
         *     Operation id: `verifyAdminPin`.
         */
        post: operations["verifyAdminPin"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List agents
         * @description The org's agents, newest first, optionally by status or workspace. Never carries credentials.
         *
         *     Operation id: `listAgents`.
         */
        get: operations["listAgents"];
        put?: never;
        /**
         * Mint an agent
         * @description Creates an agent (seeds 001 and 002) and returns its `sas_…` secret once; the agent sends it
         *     as `X-Agent-Secret` on its own routes. `org_id` may be given and must be the caller's org
         *     (a platform admin names any org). Counts against the plan's agent quota. `policy_ids` must
         *     name live policies of the agent's org (422 `UNKNOWN_POLICY` listing the others).
         *
         *     Operation id: `createAgent`.
         */
        post: operations["createAgent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        /**
         * Get an agent
         * @description One agent, by `agt_` id or `sekuire_id`.
         *
         *     Operation id: `getAgent`.
         */
        get: operations["getAgent"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/compliance/{workspace_id}/report": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        /**
         * Export a compliance report (Enterprise)
         * @description A report on one agent in one workspace (seed 000): its identity, its credentials and their
         *     rotation, its installations and leases, every revocation, a summary of its audit trail with
         *     the 20 newest events, and a fresh verification of the org's audit chain; then each control
         *     of the requested frameworks with its status and the evidence behind it. `format=json`
         *     (default) answers the report as JSON; `format=markdown` answers the same report as a
         *     Markdown document for auditors. The agent is named by its `agt_` id or its 64-hex
         *     `sekuire_id`; an agent or workspace of another org is 404. Enterprise plan. The report holds
         *     what `agent.read` shows and a chain verification, so besides `audit.read` it needs those:
         *     403 `PERMISSION_DENIED` names the one missing.
         *
         *     Operation id: `getComplianceReport`.
         */
        get: operations["getComplianceReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/dek": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Issue a data-encryption key (agent)
         * @description A fresh 32-byte data-encryption key for the agent to encrypt one value it sends Warden (a read
         *     request's value, `POST /agents/{id}/wraps`). Returned sealed to the agent's registered X25519
         *     wire key (`sealed_dek`, see `SealedBox` for the algorithm) and wrapped by Warden's
         *     key-encryption key (`wrapped_dek`, opaque), valid for 15 minutes. Warden keeps no copy of the
         *     key: it recovers it from `wrapped_dek`, which opens only for this agent of this org.
         *     Authenticated by the agent's own `X-Agent-Secret` (403 `NOT_THIS_AGENT` on another agent's
         *     id); 409 `WIRE_KEY_MISSING` until the agent has set its wire key. Recorded in the audit log as
         *     `agent.dek_issued` with the key's id only.
         *
         *     Operation id: `issueAgentDek`.
         */
        post: operations["issueAgentDek"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/enable": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Lift the kill switch
         * @description Re-enables an agent disabled by the kill switch. A revoked agent stays revoked (409).
         *
         *     Operation id: `enableAgent`.
         */
        post: operations["enableAgent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/heartbeat": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Agent heartbeat (agent)
         * @description Bumps the agent's `last_seen_at` (seed 002). Authenticated by the agent's own `X-Agent-Secret`.
         *
         *     Agents ping every few seconds, so an audit event per ping would bury the chain (and the
         *     org's retention budget) in liveness noise. Only the transition is audited: the first
         *     heartbeat, or the first after 15 minutes of silence, records `agent.online`; the pings in
         *     between change nothing but `last_seen_at`.
         *
         *     Operation id: `recordAgentHeartbeat`.
         */
        post: operations["recordAgentHeartbeat"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/jobs/{job_id}/complete": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
                /** @description The job's id (`job_…`). */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Complete a claimed job (agent)
         * @description Reports the outcome of a job the calling agent holds (seed 002): `completed`, or `failed`
         *     with an optional `error` (at most 1,000 characters; never a secret's value; with `completed`
         *     it is 422). The `error` is kept on the job and in its audit event, never written to the logs. Authenticated
         *     by the agent's own `X-Agent-Secret`; another agent's id is 403 `NOT_THIS_AGENT`. Only the
         *     holder may complete a job, and only while its lease runs: a job another agent holds, one whose
         *     lease expired (whether or not it was claimed again), or one already completed or failed is
         *     409 `JOB_NOT_HELD`. An unknown job, or another org's, is 404 `JOB_NOT_FOUND`. The outcome is
         *     final: a failed job is not retried. Records `job.completed` or `job.failed`.
         *
         *     Operation id: `completeAgentJob`.
         */
        post: operations["completeAgentJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/jobs/claim": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Claim the next job (agent, long-poll with wait)
         * @description Hands the calling agent the oldest job it may do, or answers 204 when there is none (seed
         *     002). Authenticated by the agent's own `X-Agent-Secret`; another agent's id is 403
         *     `NOT_THIS_AGENT`. A job is the agent's to claim when it belongs to the agent's org and is
         *     pinned to this agent, or is unpinned and names a cluster the agent serves (one it has
         *     reported secrets of), and it is `queued` or its lease has expired with attempts left.
         *     Claims lock with `FOR UPDATE SKIP LOCKED`: agents claiming at once get distinct jobs, and a
         *     job is held by one agent at a time. A claimed job is the agent's until `lease_expires_at`
         *     (`JOB_VISIBILITY_TIMEOUT_SECONDS` from the claim); complete it before then, or it returns to
         *     the queue. A job whose lease expired after its last attempt fails for good instead.
         *
         *     With `wait` (seconds, at most 30) an empty queue holds the answer until a job the agent may
         *     claim is enqueued or the wait ends; it then answers 200 or 204. A held request holds no
         *     database connection. Each Warden instance holds a bounded number of waits (in all, per org,
         *     and a quarter of its org's per agent); past that it answers 429 `JOB_WAITS_EXHAUSTED` with
         *     `Retry-After`. A stopped agent (kill switch, revoked) claims nothing: its secret is refused
         *     with 401, and an agent stopped while it waits gets 204.
         *
         *     A claim that hands out a job records `job.claimed` in the claim's transaction; an empty answer
         *     records nothing, so polling agents do not fill the audit log. A job that a claim finds failed
         *     for good records `job.failed` (by `system`).
         *
         *     Operation id: `claimAgentJob`.
         */
        post: operations["claimAgentJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/listing": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * List an agent on the registry network
         * @description Opts one of the org's agents into the registry network (Professional plan and up), or changes its
         *     category and description. Other Professional+ orgs find it with `GET /registry/network/agents` and may
         *     hire it (`POST /marketplace/hire`). `verified` is not set here: it is true while the agent has a
         *     registered Ed25519 identity whose possession was proven and is active (its trust profile says verified).
         *     A revoked agent cannot be listed (409 `AGENT_STOPPED`); one stopped later stays listed but cannot be hired.
         *
         *     Operation id: `putAgentListing`.
         */
        put: operations["putAgentListing"];
        post?: never;
        /**
         * Take an agent off the registry network
         * @description Removes the agent's listing; existing hires stay. 404 when the agent is not listed (or not the org's).
         *
         *     Operation id: `deleteAgentListing`.
         */
        delete: operations["deleteAgentListing"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/policies": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Set an agent's policies
         * @description Replaces the list of policies the agent names, in evaluation order (an empty list names
         *     none; the agent still inherits its workspace's). Every id must be a live policy of the
         *     agent's org (422 `UNKNOWN_POLICY` naming the others; another org's policy reads as unknown).
         *
         *     Operation id: `setAgentPolicies`.
         */
        put: operations["setAgentPolicies"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/public-key": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Set the agent's wire-envelope key (agent)
         * @description The agent registers its X25519 public key for wire envelopes (seed 002). Authenticated by
         *     the agent's own `X-Agent-Secret`; a secret works only on its own agent's routes (403 on
         *     another agent's, 401 when revoked or disabled). Base64 or base64url; answered in base64.
         *     Audited with the key it replaced as `before`.
         *
         *     Operation id: `setAgentPublicKey`.
         */
        put: operations["setAgentPublicKey"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke an agent (permanent)
         * @description Revokes the agent for good. From the moment this returns, every credential of the agent is
         *     refused (its secret, install tokens, runtime and refresh tokens), and each installation's
         *     next lease answers the `shutdown` command. Revoking a revoked agent is a no-op.
         *
         *     Operation id: `revokeAgent`.
         */
        post: operations["revokeAgent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/secrets/bulk": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Report discovered secrets (agent)
         * @description The agent reports up to 1,000 secrets it found in its cluster (seed 002 discovery). Each is
         *     upserted on (org, `cluster_name`, `provider`, `ref`): a new one is created, a known one takes
         *     the report's `labels`, `status` and reporting agent. Sending the same body again changes
         *     nothing and answers `unchanged` for every item. A report older than what Warden already holds
         *     (its `last_seen` before the stored one) changes neither labels nor status. `last_seen`
         *     defaults to now and is capped at now; `labels` default to `{}`, `status` to `active`.
         *
         *     Never a value: an item has exactly the fields below, so a `value` (or any other field) is
         *     refused with 422, as are two items naming the same secret, and label keys outside the
         *     documented form. The whole batch is written in one statement in one transaction, with one
         *     audit event (`secret.discovered`, with the counts) per call.
         *
         *     Authenticated by the agent's own `X-Agent-Secret`, on its own id only (403
         *     `NOT_THIS_AGENT` on another agent's, 401 when it is revoked or disabled by the kill switch).
         *
         *     Operation id: `bulkUpsertDiscoveredSecrets`.
         */
        post: operations["bulkUpsertDiscoveredSecrets"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/verify": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        /**
         * Verify an agent
         * @description Whether the agent is an active identity Warden vouches for (seed 000). `valid` is false for
         *     disabled and revoked agents and for a registered key not yet proven; an unknown agent (or
         *     another org's) is 404. While the key is unproven, `proof_message` is the exact text the
         *     agent signs to prove it (see `POST` on this path), good for 5 minutes.
         *
         *     Operation id: `verifyAgent`.
         */
        get: operations["verifyAgent"];
        put?: never;
        /**
         * Prove possession of the agent's key
         * @description Marks a registered key as proven for this org: `signature` is the agent's Ed25519
         *     signature over the UTF-8 bytes of the RFC 8785 canonical JSON of
         *     `{"org_id": <this org>, "purpose": "warden.agent_key_proof", "sekuire_id": <sekuire_id>, "timestamp": <timestamp>}`
         *     (`GET` on this path gives that text with the current time), and `timestamp` must be within
         *     5 minutes of Warden's clock. Proving again is a no-op. 422 `WEAK_PUBLIC_KEY` for a small-order key stored before Warden
         *     refused them (such a key never counts as proven). 422 when the signature or timestamp
         *     does not hold; 409 for a minted agent (no key), and when another org already proved the key
         *     (said only to a caller who has just shown the key). Node:
         *
         *     ```js
         *     const { sign } = require('node:crypto');
         *     const timestamp = new Date().toISOString();
         *     const message = JSON.stringify({ org_id, purpose: 'warden.agent_key_proof', sekuire_id, timestamp }); // RFC 8785: keys already sorted
         *     const signature = sign(null, Buffer.from(message), privateKey).toString('base64url');
         *     ```
         *
         *     Operation id: `proveAgentKey`.
         */
        post: operations["proveAgentKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/wraps": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Post a read request's value (agent)
         * @description Read flow: the agent holding the request's running job sends the value it fetched in the
         *     cluster, encrypted with a key from `POST /agents/{id}/dek`:
         *     `ciphertext ‖ tag = AES-256-GCM(key = the DEK, nonce, plaintext = the value in UTF-8,
         *     aad = "warden:v1:wrap|" + request_id)`, with a 12-byte random `nonce`; `ciphertext` (ending with
         *     the 16-byte tag) and `nonce` in standard base64, `wrapped_dek` exactly as issued.
         *     Warden checks that it opens, re-encrypts it at rest under a fresh data key of the wrap's own
         *     (wrapped by the key-encryption key), and keeps it until the requester retrieves it once or the
         *     request expires. One wrap per request (409 `WRAP_EXISTS`); 409 `REQUEST_JOB_NOT_HELD` unless
         *     this agent holds the request's running job; 422 `WRAP_UNREADABLE` when the key is not one
         *     issued to this agent, has expired, or the ciphertext does not open.
         *
         *     Operation id: `createAgentWrap`.
         */
        post: operations["createAgentWrap"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/{id}/wraps/{wrap_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
                /** @description The wrap's `wrp_` id. */
                wrap_id: components["parameters"]["WrapIdPath"];
            };
            cookie?: never;
        };
        /**
         * Retrieve a patch request's new value (agent, once)
         * @description Patch flow: the agent holding the request's running job (its payload names `wrap_id`) retrieves
         *     the requester's new value once, sealed to its X25519 wire key (`sealed_value`, context
         *     `wrap|<wrap_id>`; see `SealedBox`). The ciphertext at rest is destroyed in the same transaction:
         *     a second retrieval, or one after `expires_at`, answers 410 `WRAP_GONE`; of concurrent retrievals
         *     exactly one gets the value. 409 `REQUEST_JOB_NOT_HELD` unless this agent holds the request's
         *     running job; 409 `WIRE_KEY_MISSING` when the agent has no wire key (nothing is consumed then).
         *     Recorded in the audit log as `wrap.retrieved`, without the value.
         *
         *     Operation id: `retrieveAgentWrap`.
         */
        get: operations["retrieveAgentWrap"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/agents/register": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Register an agent by its Ed25519 key
         * @description Registers an agent identity (seed 000). `public_key` is the 32-byte Ed25519 public key in
         *     base64 (44 characters, padded) or base64url (43 characters, unpadded, what Node's JWK export
         *     gives as `x`); Warden answers it in base64. `sekuire_id` must be the lowercase hex SHA-256 of
         *     those 32 bytes: the id certifies the key, so anyone can check it offline. The same
         *     `sekuire_id` registered twice in one org is 409. Counts against the plan's agent quota.
         *     A key that is not the canonical encoding of an Ed25519 point of large order (one of the
         *     eight small-order points in any spelling, or bytes that decode to no point) is 422
         *     `WEAK_PUBLIC_KEY`: nobody holds its private key, yet a constant signature verifies for it.
         *
         *     **Proof of possession.** A registration without `proof` is *unproven*
         *     (`key_proven_at: null`): Warden does not vouch for it (no trust headers, `verified: false`
         *     profile, `valid: false` verdicts) until the agent proves it holds the private key, here with
         *     `proof` or later with `POST /agents/{id}/verify`. The agent signs (Ed25519) the UTF-8 bytes
         *     of the RFC 8785 canonical JSON of
         *     `{"org_id": <your org>, "purpose": "warden.agent_key_proof", "sekuire_id": <sekuire_id>, "timestamp": <now, RFC 3339>}`;
         *     the timestamp must be within 5 minutes of Warden's clock. Several orgs may hold unproven
         *     registrations of one key (none learns of the others); the first org to prove it owns it,
         *     and the others' registrations can then never be proven. A proof for a key another org
         *     already proved is 409 (only the key's holder can make one).
         *
         *     ```js
         *     const { createHash, generateKeyPairSync, sign } = require('node:crypto');
         *     const { publicKey, privateKey } = generateKeyPairSync('ed25519');
         *     const public_key = publicKey.export({ format: 'jwk' }).x; // base64url, 43 characters
         *     const sekuire_id = createHash('sha256').update(Buffer.from(public_key, 'base64url')).digest('hex');
         *     const timestamp = new Date().toISOString();
         *     // Keys in code-point order and no whitespace: this is the RFC 8785 form.
         *     const message = JSON.stringify({ org_id: 'org_…', purpose: 'warden.agent_key_proof', sekuire_id, timestamp });
         *     const signature = sign(null, Buffer.from(message), privateKey).toString('base64url');
         *     const body = { sekuire_id, name: 'My Agent', public_key, proof: { timestamp, signature } };
         *     ```
         *
         *     Operation id: `registerAgent`.
         */
        post: operations["registerAgent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List API keys
         * @description The org's API keys, newest first, revoked ones included (with `revoked_at`). Secrets are
         *     never listed: only each key's prefix and last four characters.
         *
         *     Operation id: `listApiKeys`.
         */
        get: operations["listApiKeys"];
        put?: never;
        /**
         * Create an API key
         * @description Creates an API key and returns its secret, once. Choose `expires_in_days` (30, 180 or 365)
         *     or a custom `expires_at` at most one year ahead (not both; 365 days when neither is
         *     given). `permissions` must be a subset of the caller's own (403 names the ones you lack);
         *     they default to all of the caller's org permissions. `mode` `test` makes an
         *     `sk_test_` key. Only a SHA-256 digest of the secret is stored. Counts against the plan's
         *     API key quota (402).
         *
         *     `rate_limit_per_minute` sets the key's own request budget (1–100000 a minute; omitted or
         *     null: the server's default). Every request with the key counts against it, whatever the
         *     operation; over it Warden answers 429 with `Retry-After`.
         *
         *     Operation id: `createApiKey`.
         */
        post: operations["createApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/api-keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke an API key
         * @description Revokes the key and every secret of it; the next request with it gets 401. Revoking a
         *     revoked key is a no-op. The org's last owner credential cannot be revoked: when no user
         *     holds `owner.grant`, revoking the last key that still carries it is 409 `LAST_OWNER`
         *     (create an owner user first). Revoking another key needs every permission it carries (403
         *     `PRIVILEGE_ESCALATION` naming the others), so a weaker credential cannot revoke a stronger
         *     one; a key may always revoke itself.
         *
         *     Operation id: `revokeApiKey`.
         */
        delete: operations["revokeApiKey"];
        options?: never;
        head?: never;
        /**
         * Edit an API key
         * @description Changes a key's name, description, permissions or request budget (seed 003: "edit the key
         *     and add the missing permission"); fields left out stay. `permissions` replaces the list and
         *     must stay within the editor's own: every permission in it, kept or added, must be one the
         *     caller holds (403 `PRIVILEGE_ESCALATION` naming the others), so a weaker credential can never
         *     hand a key more than it has. Taking `owner.grant` from the org's last owner credential is 409
         *     `LAST_OWNER`. `rate_limit_per_minute` is 1–100000, or null for the server's default. The
         *     key's secret, expiry and mode do not change. Editing another key at all needs every
         *     permission it already carries (403 `PRIVILEGE_ESCALATION`), so a weaker credential cannot
         *     narrow or throttle a stronger one.
         *
         *     Operation id: `updateApiKey`.
         */
        patch: operations["updateApiKey"];
        trace?: never;
    };
    "/api/v1/api-keys/{id}/devices": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        /**
         * List an API key's devices
         * @description The devices the key is bound to, oldest first (at most 10). The key itself may list its own
         *     devices; any other caller needs `api_key.read` or `api_key.edit`. Another org's key answers 404.
         *
         *     Operation id: `listApiKeyDevices`.
         */
        get: operations["listApiKeyDevices"];
        put?: never;
        /**
         * Bind an API key to a device
         * @description Binds the key to a device (seed 004's `warden login`: "API Key verified and bound to this
         *     device"). From then on every request with the key must send `X-Warden-Device: <fingerprint>`
         *     naming one of its devices, or it answers 401 `DEVICE_NOT_BOUND`; a key with no devices is
         *     unaffected. `fingerprint` is the SHA-256 (hex) of stable machine facts the client computes;
         *     the facts never leave the device.
         *
         *     The key itself may bind the device it is used from: this operation (and `GET /api/v1/me`,
         *     `GET /api/v1/auth/me`) answer a key sent from a device it is not bound to, which is how
         *     `warden login` re-verifies a key on a new machine. Binding another key, or binding from an
         *     unbound device with another key, needs `api_key.edit`, a bound device and every permission the key carries (403
         *     `PRIVILEGE_ESCALATION`: a weaker credential cannot lock a stronger key to its own machine).
         *
         *     Idempotent per fingerprint: binding a fingerprint the key already has answers 200 with that
         *     device, unchanged. A key holds at most 10 devices (409 `API_KEY_DEVICE_LIMIT_REACHED`:
         *     remove one first). Another org's key answers 404.
         *
         *     Operation id: `bindApiKeyDevice`.
         */
        post: operations["bindApiKeyDevice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/api-keys/{id}/devices/{device_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The device's id (`dev_…`). */
                device_id: components["parameters"]["ApiKeyDeviceIdPath"];
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Remove a device from an API key
         * @description Unbinds the device: requests naming its fingerprint answer 401 `DEVICE_NOT_BOUND` from then
         *     on, unless it was the key's last device (a key with no devices works from anywhere again).
         *     The key itself may remove its own devices; any other caller needs `api_key.edit`
         *     and every permission the key carries (403 `PRIVILEGE_ESCALATION`).
         *     Another org's key, or a device of another key, answers 404.
         *
         *     Operation id: `unbindApiKeyDevice`.
         */
        delete: operations["unbindApiKeyDevice"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/api-keys/{id}/roll": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Roll an API key's secret
         * @description Issues a new secret for the key, returned once. The previous secret keeps working for
         *     `grace_period_seconds` (0 = stops at once, at most 86400 = 24 h), so deployments can
         *     switch over. The key's id, permissions and expiry stay. A revoked or expired key cannot be
         *     rolled (409).
         *
         *     The new secret carries every permission of the key, so the caller must hold all of them:
         *     otherwise 403 `PRIVILEGE_ESCALATION` naming the ones it lacks (an `api_key.edit` holder
         *     cannot roll an owner's key into a secret of its own).
         *
         *     Operation id: `rollApiKey`.
         */
        post: operations["rollApiKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/approval-settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get approval notification settings
         * @description Where Warden announces new approvals besides email. Never shows the Slack webhook's path or the signing secret.
         *
         *     Operation id: `getApprovalSettings`.
         */
        get: operations["getApprovalSettings"];
        /**
         * Set approval notification settings
         * @description Sets the Slack incoming webhook and/or the generic webhook new approvals are announced to.
         *     A field left out keeps its value; null removes it. Each URL must be one Warden may call
         *     (https, a public address, or a host in `OUTBOUND_ALLOWED_HOSTS`), else 422
         *     `DESTINATION_NOT_ALLOWED`. Setting `webhook_url` issues a new signing secret, returned once
         *     as `secret` (the previous one stops being used); see ApprovalSettings for verifying deliveries.
         *     Deliveries happen after the approval is committed and never fail the call that opened it.
         *
         *     Operation id: `updateApprovalSettings`.
         */
        put: operations["updateApprovalSettings"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/approvals": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List approvals
         * @description The org's approvals, newest first (seed 001), optionally only those in one `status`. A
         *     pending approval past its `expires_at` is listed, and filtered, as `expired`. `org_id`
         *     may be given and must be the caller's org (a platform admin names any org).
         *
         *     Operation id: `listApprovals`.
         */
        get: operations["listApprovals"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/approvals/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The approval's `apr_` id. */
                id: string;
            };
            cookie?: never;
        };
        /**
         * Get an approval (long-poll with wait)
         * @description One approval. With `wait` (seconds, at most 30) the answer is held until the approval leaves
         *     `pending` (approved, denied or expired) or the wait ends, whichever comes first; it is then
         *     the approval as it stands, still `pending` if nobody decided. A held request holds no database
         *     connection. Each Warden instance holds a bounded number of waits (per org and in all); past
         *     that it answers 429 `APPROVAL_WAITS_EXHAUSTED` with `Retry-After`, and the caller retries.
         *
         *     Callers: a user or API key with `approval.read` (checked by the operation, since an agent
         *     holds no permissions), or the agent that asked, with its own `X-Agent-Secret` or a gateway key bound to it; an agent
         *     reading another agent's approval gets 404.
         *
         *     Operation id: `getApproval`.
         */
        get: operations["getApproval"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/approvals/{id}/approve": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The approval's `apr_` id. */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Approve an approval
         * @description Approves a pending approval (seed 001). The agent may then use it once, for the same method
         *     and path at no more than its cost, until `expires_at`, which approving resets to
         *     `APPROVAL_TTL_MINUTES` from now. `reason` is kept as a note.
         *     Exactly one decision wins: of concurrent approvals and denials of one approval, one succeeds
         *     and the rest answer 409 `APPROVAL_ALREADY_DECIDED` (or `APPROVAL_EXPIRED` once `expires_at`
         *     has passed). Only people and API keys decide: an agent's own credentials (agent secret,
         *     runtime token, gateway key) are refused with 403, so no agent can approve its own request.
         *
         *     Operation id: `approveApproval`.
         */
        post: operations["approveApproval"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/approvals/{id}/deny": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The approval's `apr_` id. */
                id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Deny an approval
         * @description Denies a pending approval (seed 001), with an optional `reason` the agent can read.
         *     Exactly one decision wins: of concurrent approvals and denials of one approval, one succeeds
         *     and the rest answer 409 `APPROVAL_ALREADY_DECIDED` (or `APPROVAL_EXPIRED` once `expires_at`
         *     has passed). Only people and API keys decide: an agent's own credentials (agent secret,
         *     runtime token, gateway key) are refused with 403, so no agent can approve its own request.
         *
         *     Operation id: `denyApproval`.
         */
        post: operations["denyApproval"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/argocd-endpoints": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Argo CD endpoints
         * @description The org's Argo CD endpoints, newest first. Tokens are never listed, only their last four characters. 404 while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `listArgocdEndpoints`.
         */
        get: operations["listArgocdEndpoints"];
        put?: never;
        /**
         * Register an Argo CD endpoint
         * @description Registers an Argo CD API server and the API token Warden presents to it (an Argo CD account
         *     token with `applications, get`; create one with `argocd account generate-token`). The token is
         *     encrypted at rest and never returned, logged or audited. `base_url` must be an https URL
         *     (plain http only for hosts in `OUTBOUND_ALLOWED_HOSTS`) without query, fragment or credentials
         *     whose host resolves to public addresses only: otherwise 422 `ARGOCD_URL_REFUSED`. The same
         *     check runs again on every call. New endpoints are enabled. 409 `ARGOCD_ENDPOINT_NAME_TAKEN`
         *     for a name the org uses already; 503 `ENCRYPTION_KEY_MISSING` when this Warden has no
         *     key-encryption key. 404 while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `createArgocdEndpoint`.
         */
        post: operations["createArgocdEndpoint"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/argocd-endpoints/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The Argo CD endpoint's id (`argo_…`). */
                id: components["parameters"]["ArgocdEndpointIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete an Argo CD endpoint
         * @description Deletes the endpoint with its encrypted token and its application mappings. Observations
         *     already recorded stay readable; those still open are no longer refreshed and time out. 404
         *     while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `deleteArgocdEndpoint`.
         */
        delete: operations["deleteArgocdEndpoint"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/argocd-endpoints/{id}/discovered-apps": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The Argo CD endpoint's id (`argo_…`). */
                id: components["parameters"]["ArgocdEndpointIdPath"];
            };
            cookie?: never;
        };
        /**
         * List the applications an Argo CD endpoint knows
         * @description Calls Argo CD's `GET /api/v1/applications` with the endpoint's token (through Warden's
         *     outbound client: SSRF rules, pinned address, timeout) and answers each application's name,
         *     project, sync and health status and last sync operation, and whether a mapping names it.
         *     409 `ARGOCD_ENDPOINT_DISABLED` for a disabled endpoint; 502 `ARGOCD_UNREACHABLE` when Argo CD
         *     cannot be reached in time (or its address is now refused), 502 `ARGOCD_REQUEST_FAILED` when it
         *     answers with an error status (401/403: the token is not accepted) or a body that is not an
         *     application list; `details` say which. 404 while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `listArgocdDiscoveredApps`.
         */
        get: operations["listArgocdDiscoveredApps"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/argocd-endpoints/{id}/enabled": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The Argo CD endpoint's id (`argo_…`). */
                id: components["parameters"]["ArgocdEndpointIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Enable or disable an Argo CD endpoint
         * @description A disabled endpoint is not called: its discovered-apps answer 409 `ARGOCD_ENDPOINT_DISABLED`,
         *     patches record no observations for its mappings, and open observations are not refreshed. 404
         *     while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `setArgocdEndpointEnabled`.
         */
        put: operations["setArgocdEndpointEnabled"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit-events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Search audit events
         * @description The caller's org's audit events, newest first, filtered as seed 002 does: `actor` (an actor
         *     id), `action`, `resource` (a resource id), `correlation_id` (the request id), and the
         *     time window `since`/`until` (inclusive, exclusive). Same plan gate as `GET /api/v1/audit-logs`.
         *
         *     Operation id: `listAuditEvents`.
         */
        get: operations["listAuditEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit-logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List audit logs
         * @description The org's audit events, newest first (seed 000), optionally of one workspace. Needs the
         *     `audit_logs` plan feature (Starter and up). A platform admin names any org with
         *     `organization_id`, or `platform` for the events of no org (failed logins for unknown
         *     emails, admin actions); anyone else may name only their own.
         *
         *     Operation id: `listAuditLogs`.
         */
        get: operations["listAuditLogs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit-logs/siem/datadog/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Export audit logs to Datadog
         * @description Sends audit events to Datadog's Logs intake (API v2, `POST /api/v2/logs` with the
         *     `DD-API-KEY` header), up to 1,000 events and 5 MB per request (seed 000). Each log has
         *     `ddsource`, `ddtags`, `service`, `hostname` (`warden`), `status` (`info`, or `warn` for
         *     failed and denied outcomes), `date` and, as `message`, the event as canonical JSON with its
         *     hashes, so it can be re-verified from Datadog. The key comes from `api_key` or the server's
         *     `DATADOG_API_KEY`; the intake from `intake_url` or `DATADOG_INTAKE_URL` (default
         *     `https://http-intake.logs.datadoghq.com/api/v2/logs`). Professional plan and up.
         *
         *     Selects the newest `limit` audit events of the org matching `workspace_id` and `event_type`
         *     and sends them, oldest first, to the intake. A failed request is retried (three attempts in
         *     all, with exponential backoff, honouring `Retry-After`) on 429, 5xx and network errors;
         *     other answers are final. The answer counts what was sent and what failed; when nothing at
         *     all could be delivered it is 502. Each export is itself recorded in the audit log as
         *     `audit.siem_exported` (vendor, intake host, counts; never the credential) whatever the
         *     outcome once the intake is known: `failure` when any event failed (502 included) or the
         *     intake does not resolve, `denied` for a refused destination (422).
         *     `x-audit-recorded-by: service` says the service writes it once the sending is over, not the
         *     binding in a transaction around the request.
         *
         *     Outbound safety: `https://` only (`http://` only for hosts in `OUTBOUND_ALLOWED_HOSTS`); the
         *     host is resolved once and every address is checked (private, loopback, link-local, CGNAT,
         *     multicast and cloud-metadata addresses are refused unless the host is allow-listed), the
         *     connection goes to the checked address, the certificate is verified (public CAs, plus any in
         *     `OUTBOUND_CA_FILE`), redirects are not followed, each attempt has a
         *     timeout (`OUTBOUND_TIMEOUT_MS`) and the answer is read to at most 64 KiB. A refused
         *     destination is 422 `DESTINATION_NOT_ALLOWED`. Exports count against the `siem_export` rate
         *     limit: 60 an hour per org and 120 per client IP (429 with `Retry-After`).
         *
         *     Operation id: `exportAuditLogsToDatadog`.
         */
        post: operations["exportAuditLogsToDatadog"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit-logs/siem/pagerduty/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Export audit logs to PagerDuty
         * @description Sends audit events to the PagerDuty Events API v2 (`POST /v2/enqueue`), one event per
         *     request as that API takes them: `routing_key`, `event_action`, `dedup_key` =
         *     `<dedup_key_prefix>-<event id>` (so a repeated export updates the same alerts instead of
         *     opening new ones), and a `payload` with `summary` (action, resource and outcome),
         *     `source`, `severity`, `timestamp`, `component`, `group`, `class` and the event with its
         *     hashes (and the tags) in `custom_details`. The routing key comes from `routing_key` or the
         *     server's `PAGERDUTY_ROUTING_KEY`; the intake from `intake_url` or `PAGERDUTY_EVENTS_URL`
         *     (default `https://events.pagerduty.com/v2/enqueue`). Professional plan and up.
         *
         *     Selects the newest `limit` audit events of the org matching `workspace_id` and `event_type`
         *     and sends them, oldest first, to the intake. A failed request is retried (three attempts in
         *     all, with exponential backoff, honouring `Retry-After`) on 429, 5xx and network errors;
         *     other answers are final. The answer counts what was sent and what failed; when nothing at
         *     all could be delivered it is 502. Each export is itself recorded in the audit log as
         *     `audit.siem_exported` (vendor, intake host, counts; never the credential) whatever the
         *     outcome once the intake is known: `failure` when any event failed (502 included) or the
         *     intake does not resolve, `denied` for a refused destination (422).
         *     `x-audit-recorded-by: service` says the service writes it once the sending is over, not the
         *     binding in a transaction around the request.
         *
         *     Outbound safety: `https://` only (`http://` only for hosts in `OUTBOUND_ALLOWED_HOSTS`); the
         *     host is resolved once and every address is checked (private, loopback, link-local, CGNAT,
         *     multicast and cloud-metadata addresses are refused unless the host is allow-listed), the
         *     connection goes to the checked address, the certificate is verified (public CAs, plus any in
         *     `OUTBOUND_CA_FILE`), redirects are not followed, each attempt has a
         *     timeout (`OUTBOUND_TIMEOUT_MS`) and the answer is read to at most 64 KiB. A refused
         *     destination is 422 `DESTINATION_NOT_ALLOWED`. Exports count against the `siem_export` rate
         *     limit: 60 an hour per org and 120 per client IP (429 with `Retry-After`).
         *
         *     Operation id: `exportAuditLogsToPagerDuty`.
         */
        post: operations["exportAuditLogsToPagerDuty"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit-logs/siem/splunk/export": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Export audit logs to Splunk HEC
         * @description Sends audit events to a Splunk HTTP Event Collector (`Authorization: Splunk <token>`), as
         *     HEC event JSON: one object per event (`time` in epoch seconds, `host`, `source`,
         *     `sourcetype`, `index` when given, `event` = the audit event with its hashes, and the tags
         *     as the indexed field `tags`), concatenated, up to 500 events and 1 MiB per request
         *     (seed 000). The token comes from `hec_token` or the server's `SPLUNK_HEC_TOKEN`; the
         *     collector from `intake_url` or `SPLUNK_HEC_URL` (no default: one of them is required).
         *     Professional plan and up.
         *
         *     Selects the newest `limit` audit events of the org matching `workspace_id` and `event_type`
         *     and sends them, oldest first, to the intake. A failed request is retried (three attempts in
         *     all, with exponential backoff, honouring `Retry-After`) on 429, 5xx and network errors;
         *     other answers are final. The answer counts what was sent and what failed; when nothing at
         *     all could be delivered it is 502. Each export is itself recorded in the audit log as
         *     `audit.siem_exported` (vendor, intake host, counts; never the credential) whatever the
         *     outcome once the intake is known: `failure` when any event failed (502 included) or the
         *     intake does not resolve, `denied` for a refused destination (422).
         *     `x-audit-recorded-by: service` says the service writes it once the sending is over, not the
         *     binding in a transaction around the request.
         *
         *     Outbound safety: `https://` only (`http://` only for hosts in `OUTBOUND_ALLOWED_HOSTS`); the
         *     host is resolved once and every address is checked (private, loopback, link-local, CGNAT,
         *     multicast and cloud-metadata addresses are refused unless the host is allow-listed), the
         *     connection goes to the checked address, the certificate is verified (public CAs, plus any in
         *     `OUTBOUND_CA_FILE`), redirects are not followed, each attempt has a
         *     timeout (`OUTBOUND_TIMEOUT_MS`) and the answer is read to at most 64 KiB. A refused
         *     destination is 422 `DESTINATION_NOT_ALLOWED`. Exports count against the `siem_export` rate
         *     limit: 60 an hour per org and 120 per client IP (429 with `Retry-After`).
         *
         *     Operation id: `exportAuditLogsToSplunk`.
         */
        post: operations["exportAuditLogsToSplunk"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit/export.csv": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Export the audit log as CSV
         * @description Streams the org's events in chain order as RFC 4180 CSV with a header row (the
         *     `AuditEvent` fields; `details` as JSON). A cell that starts with `=`, `+`, `-`, `@`, a tab or
         *     a carriage return is prefixed with `'` so spreadsheets do not run it as a formula. Same
         *     filters and plan gate as `GET /api/v1/audit-events`.
         *
         *     Operation id: `exportAuditCsv`.
         */
        get: operations["exportAuditCsv"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit/export.jsonl": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Export the audit log as JSON Lines
         * @description Streams the org's events in chain order (oldest first), one `AuditEvent` JSON object per
         *     line, each with its `prev_hash` and `hash`: an unfiltered export re-verifies offline as the
         *     `AuditEvent` schema describes. Read in batches, so memory stays flat for any size. Same
         *     filters as `GET /api/v1/audit-events`; same plan gate.
         *
         *     Operation id: `exportAuditJsonl`.
         */
        get: operations["exportAuditJsonl"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/audit/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Verify the audit chain
         * @description Walks the org's chain in `seq` order, in batches (constant memory), recomputing each hash as
         *     `AuditEvent` documents, and reports the first break: `deleted` (a gap in `seq`, or the chain
         *     ends before its recorded head), `reordered` (an event's `prev_hash` is not its predecessor's
         *     hash) or `edited` (an event's content no longer matches its hash, or the retention checkpoint's
         *     signature fails). Org admins verify their
         *     org; a platform admin names one with `organization_id`, or `platform` for the chain of
         *     events that belong to no org.
         *
         *     Operation id: `verifyAuditChain`.
         */
        get: operations["verifyAuditChain"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/login": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log in with email and password
         * @description Exchanges an email and password for a login JWT (HS256, `typ: JWT`, issuer and audience
         *     `warden`, lifetime `JWT_TTL_MINUTES`, 15–60 min, 30 by default). Each token is backed by a
         *     server-side session, so `POST /api/v1/auth/logout` revokes it at once. A wrong email and a
         *     wrong password get the same 401, after the same work. Rate-limited per IP and per email.
         *
         *     Audit: `auth.login` in the user's org, actor the user, resource the new session; a refusal is
         *     `auth.login_failed` (outcome `failure`; in the platform chain when no user has the email).
         *
         *     Operation id: `login`.
         */
        post: operations["login"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/logout": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Log out (revoke this login session)
         * @description Revokes the session behind the login JWT or admin session token used to call it; the
         *     token is refused from the next request on. API keys are revoked with
         *     `DELETE /api/v1/api-keys/{id}` instead (409 here).
         *
         *     Audit: `auth.logout`, actor the caller, resource the session; in the caller's org, or in the
         *     platform chain for an admin session.
         *
         *     Operation id: `logout`.
         */
        post: operations["logout"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/magic/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Complete a magic-link login
         * @description Exchanges the link's token, once, for a login JWT: 302 to the `redirect_url` given at the
         *     start with `#token=<jwt>` in the fragment, or 200 with the token when none was given. A used,
         *     expired or unknown token is 401. Following the link also verifies the email.
         *
         *     Audit: `auth.magic_link_login` in the user's org, actor the user, resource the new session.
         *
         *     Operation id: `completeMagicLink`.
         */
        get: operations["completeMagicLink"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/magic/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start a magic-link login
         * @description Emails a single-use login link, valid 15 minutes, when the email belongs to a user (without
         *     SMTP the mail goes to the server log). An unknown email gets the same status and body after
         *     the same work, and no link: the answer never tells whether an account exists, and never
         *     carries the token, except under the development switch `DEV_RETURN_LINK_TOKENS`
         *     (`delivery: response`; unknown emails then get a token that matches nothing).
         *     Rate-limited per IP and per email.
         *
         *     Audit: `auth.magic_link_requested` (actor `anonymous` with the email), in the user's org with
         *     the user as resource, or, for an unknown email, in the platform chain with outcome `failure`.
         *
         *     Operation id: `startMagicLink`.
         */
        post: operations["startMagicLink"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Who am I
         * @description The principal behind the credential: a user (login JWT), an API key (with the user who
         *     created it) or a platform admin session; its org, roles, effective permissions and when
         *     the credential expires. Needs no permission beyond a valid credential.
         *
         *     Operation id: `getCurrentPrincipal`.
         */
        get: operations["getCurrentPrincipal"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/oidc/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Finish an OIDC single sign-on
         * @description Where the OpenID provider sends the browser back (`OIDC_REDIRECT_URL`). Warden uses the
         *     sign-in attempt `state` names, once (400 `OIDC_STATE_INVALID`, `OIDC_STATE_USED` or
         *     `OIDC_STATE_EXPIRED` otherwise), exchanges the code with its PKCE verifier, and validates the
         *     ID token (signature, issuer, audience, expiry, `nonce`) with `openid-client`; a refused code
         *     or a token that fails a check is 401 `OIDC_RESPONSE_INVALID`, an `error` from the provider
         *     401 `OIDC_PROVIDER_ERROR`. Claims the ID token lacks are read from the userinfo endpoint.
         *
         *     The email must be verified by the provider (`email_verified: true`) and its domain in
         *     `OIDC_ALLOWED_EMAIL_DOMAINS` (403 `OIDC_EMAIL_UNVERIFIED` / `OIDC_EMAIL_DOMAIN_NOT_ALLOWED`,
         *     and no user is created). A user with that email (in any org) is logged in and their email
         *     marked verified. Otherwise the user is created just in time in the org the claims map to
         *     (`OIDC_ORG_CLAIM` + `OIDC_ORG_MAP`, else `OIDC_DEFAULT_ORG`; 403 `OIDC_NO_ORG` when neither
         *     applies) with the built-in role they map to (`OIDC_ROLE_CLAIM` + `OIDC_ROLE_MAP`, else
         *     `OIDC_DEFAULT_ROLE`), within the org's plan quota (402). Either way the user's `first_name` and
         *     `last_name` follow the provider: `given_name`/`family_name`, else `name` split at its first
         *     space, cut to 100 characters; a name the provider does not send is left as it is. The login is the same JWT and
         *     server-side session as a password or magic-link login: 302 to the attempt's `redirect_url`
         *     with `#token=<jwt>`, or 200 with the login when the attempt had none. Rate-limited per IP
         *     (with `start`).
         *
         *     Audit: `auth.oidc_login` in the user's org, actor the user, resource the new session (details
         *     `issuer`, `provisioned`, and `names_updated` {before, after} when a sign-in changed a name); a first login also writes `auth.oidc_user_provisioned` (resource the
         *     user). A refused callback writes `auth.oidc_login_failed` (outcome `failure`, actor
         *     `anonymous` with the email when known) in the user's org when the email names one, else in
         *     the platform chain.
         *
         *     Operation id: `completeOidcLogin`.
         */
        get: operations["completeOidcLogin"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/oidc/enabled": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Whether OIDC single sign-on is enabled
         * @description Tells a login page whether to offer "Sign in with SSO": `enabled` is true when the operator
         *     configured an OpenID provider (`OIDC_ISSUER`, `OIDC_CLIENT_ID`, `OIDC_ALLOWED_EMAIL_DOMAINS`).
         *     It does not contact the provider.
         *
         *     Operation id: `getOidcStatus`.
         */
        get: operations["getOidcStatus"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/oidc/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Start an OIDC single sign-on
         * @description Sends the browser to the OpenID provider's authorization endpoint (authorization code flow
         *     with PKCE `S256`, `state` and `nonce`). The `state`, `nonce` and PKCE verifier stay on the
         *     server, in Postgres, for 10 minutes and for one callback only, so any Warden instance behind
         *     a load balancer can finish the sign-in. The provider's metadata comes from its discovery
         *     document (`OIDC_ISSUER/.well-known/openid-configuration`), fetched through Warden's outbound
         *     client (https, SSRF rules, `OUTBOUND_ALLOWED_HOSTS`, `OUTBOUND_CA_FILE`).
         *
         *     A browser gets 302 to the provider. A script or single-page console that sends
         *     `Accept: application/json` (and not `text/html`) gets 200 with the URL instead, and sends the
         *     browser there itself.
         *
         *     `redirect_url` is where the callback sends the browser afterwards with `#token=<jwt>`; its
         *     origin must be in `REDIRECT_ALLOWED_ORIGINS` (422 otherwise). Without it the callback answers
         *     200 with the login as JSON. 404 `OIDC_NOT_CONFIGURED` when SSO is off; 502
         *     `OIDC_PROVIDER_UNAVAILABLE` when the provider's discovery document cannot be read.
         *     Rate-limited per IP.
         *
         *     Operation id: `startOidcLogin`.
         */
        get: operations["startOidcLogin"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/signup": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign up (self-serve)
         * @description Creates an org on the free plan and its owner, logs the owner in, and starts email
         *     verification (see `POST /api/v1/auth/verify/start`; the link is mailed, never in this
         *     answer, except under the development switch `DEV_RETURN_LINK_TOKENS`). A taken email is
         *     409: the answer is a logged-in account, so it cannot look the same for one that exists.
         *
         *     Audit: `auth.signup`, the new org's first event, actor the owner, resource the new session
         *     (`idempotent_replay: true` in `details` when a retry opens another session).
         *
         *     **Idempotency.** With `idempotency_key`, a retry with the same key and the same body
         *     returns the same org and user (201 again, with a fresh login token: tokens are never stored);
         *     the same key with a different body is 409 `IDEMPOTENCY_KEY_REUSED`. Keys are kept 24 hours.
         *     Concurrent requests with one key create one account.
         *
         *     Seed 001's billing fields are applied with the new org: `stripe_email` becomes its billing
         *     email (`GET /api/v1/billing/settings`), `daily_budget_usd` the daily budget its agents start
         *     with when minted without one, and `create_wallet` opens its USD ledger account (on `network`
         *     when given). Rate-limited per IP and per email.
         *
         *     Operation id: `signup`.
         */
        post: operations["signup"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/verify/callback": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Complete email verification
         * @description Marks the email verified, once, and logs the user in: 302 to the `redirect_url` with
         *     `#token=<jwt>`, or 200 with the token. A used, superseded, expired or unknown token is 401.
         *
         *     Audit: `auth.email_verified` in the user's org, actor the user, resource the new session.
         *
         *     Operation id: `completeEmailVerification`.
         */
        get: operations["completeEmailVerification"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/auth/verify/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start (or resend) email verification
         * @description Emails the logged-in user a single-use verification link, valid 24 hours (without SMTP the
         *     mail goes to the server log; the token is in the answer only under the development switch
         *     `DEV_RETURN_LINK_TOKENS`). Earlier links stop working. 409 when the email is already
         *     verified; 409 for credentials that are not a user login.
         *
         *     Audit: `auth.email_verification_requested` in the user's org, actor and resource the user.
         *
         *     Operation id: `startEmailVerification`.
         */
        post: operations["startEmailVerification"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/billing/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List billing events
         * @description The org's metered calls (seed 001), newest first: every gateway call and decision, allowed
         *     or denied, with its cost and Warden's fee. `org_id` may be given and must be the caller's org
         *     (another org answers 404; a platform admin names any org). `agent_id` narrows the list to one
         *     agent; an agent of another org simply has no events here.
         *
         *     Operation id: `listBillingEvents`.
         */
        get: operations["listBillingEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/billing/settings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get billing settings
         * @description The org's billing settings (seed 001): Stripe customer, billing email, retainer, invoice
         *     terms and the fee settings in force (the operator's defaults where the org has set none).
         *     `org_id` may be given and must be the caller's org (another org answers 404).
         *
         *     Operation id: `getBillingSettings`.
         */
        get: operations["getBillingSettings"];
        put?: never;
        /**
         * Update billing settings
         * @description Sets the fields given and keeps the others (seed 001's body). The fee settings apply to
         *     billing events recorded from now on; events already recorded keep their fee. `org_id` may be
         *     given and must be the caller's org (another org answers 404). Audit: `billing.settings_updated`
         *     with the settings before and after.
         *
         *     The terms the org is billed on — `fee_mode`, `take_rate_bps`, `fee_per_action_usd` and
         *     `monthly_retainer_usd` — are the operator's to set: they need the platform permission
         *     `billing.terms.edit`, which only admin sessions hold (`X-Secu-Admin-Token` or `Bearer adm_…`,
         *     naming the org in `org_id`). An org's owner or admin sending any of them gets 403
         *     `BILLING_TERMS_OPERATOR_ONLY` and nothing changes; the billing email, the Stripe customer and
         *     invoicing preferences stay theirs.
         *
         *     Operation id: `updateBillingSettings`.
         */
        post: operations["updateBillingSettings"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/billing/stripe/customer": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create the org's Stripe customer
         * @description Creates the org's customer in Stripe and records its id in the billing settings (seed 001).
         *     Idempotent: when the org already has a customer, the answer is 200 with `created: false` and
         *     nothing is sent to Stripe. Concurrent calls create one customer (Stripe `Idempotency-Key`
         *     derived from the org). Without `STRIPE_SECRET_KEY` the answer is 503 `STRIPE_NOT_CONFIGURED`;
         *     a Stripe failure, or a `STRIPE_API_BASE` the outbound rules refuse, is 502 `STRIPE_ERROR`. Audit: `billing.stripe_customer_created`, written once
         *     Stripe answered (never inside a transaction that waits on Stripe).
         *
         *     Operation id: `createStripeCustomer`.
         */
        post: operations["createStripeCustomer"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/billing/stripe/invoice": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Invoice a period's fees in Stripe
         * @description Creates one Stripe invoice for the org's fees over `[from, to)` (seed 001): one invoice item
         *     per agent with fees, plus the monthly retainer when it is set, totalled in Postgres from the
         *     billing events in whole cents, then finalizes it. `from` and `to` are dates or RFC 3339
         *     date-times (a date is its UTC midnight); `from` must be before `to`, at most 366 days apart
         *     (422 `INVALID_TIME_RANGE`). The org needs a Stripe customer (409 `STRIPE_CUSTOMER_REQUIRED`)
         *     and `stripe_enabled` (409 `STRIPE_DISABLED`).
         *
         *     Idempotent per period: invoicing the same period again returns the existing invoice (200)
         *     instead of a second one (201); every Stripe request carries an `Idempotency-Key` derived from
         *     the period, so a retry after a failure cannot bill twice. `collection_method` and
         *     `days_until_due` default to the billing settings. Without `STRIPE_SECRET_KEY`: 503
         *     `STRIPE_NOT_CONFIGURED`. Audit: `billing.stripe_invoice_created`, written once Stripe answered.
         *
         *     Operation id: `createStripeInvoice`.
         */
        post: operations["createStripeInvoice"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/billing/stripe/invoices": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List Stripe invoices
         * @description The org's Stripe invoices, newest period first (seed 001), with the status Stripe's webhooks
         *     last reported. Reads Warden's own records: works without `STRIPE_SECRET_KEY`. `org_id` may be
         *     given and must be the caller's org (another org answers 404).
         *
         *     Operation id: `listStripeInvoices`.
         */
        get: operations["listStripeInvoices"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/billing/stripe/webhook": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Receive a Stripe webhook
         * @description Stripe's event delivery. The `Stripe-Signature` header is verified over the raw body with
         *     `STRIPE_WEBHOOK_SECRET` (tolerance 300 s); a missing or bad signature is 400
         *     `WEBHOOK_SIGNATURE_INVALID` and nothing is read or written. `invoice.paid`,
         *     `invoice.payment_failed` and `customer.deleted` update the invoice rows they concern; other
         *     event types are acknowledged and ignored. Each event id is processed once: a redelivery answers
         *     200 with `duplicate: true`. Without `STRIPE_WEBHOOK_SECRET`: 503 `STRIPE_NOT_CONFIGURED`.
         *     Audit: `billing.stripe_webhook_received` in the invoice's org, by the system.
         *
         *     Operation id: `receiveStripeWebhook`.
         */
        post: operations["receiveStripeWebhook"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/billing/summary": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Summarize usage
         * @description Totals of the org's billing events (seed 001) over `[from, to)`, optionally for one agent:
         *     event counts, the cost of allowed calls and Warden's fees, with the fee settings in force.
         *     `from` and `to` are RFC 3339 date-times or dates (a date is its UTC midnight); `from`
         *     defaults to the start of the current UTC month and `to` to the start of the next, so no
         *     range is this month. `from` must be before `to` and the range at most 366 days (422
         *     `INVALID_TIME_RANGE`). `org_id` may be given and must be the caller's org (another org
         *     answers 404; a platform admin names any org).
         *
         *     Operation id: `getBillingSummary`.
         */
        get: operations["getBillingSummary"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/decisions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Ask whether an agent may make a call
         * @description For agents that call vendors themselves: ask before a tool runs. Authenticated with the
         *     agent's own credential (its `sas_` agent secret, or a gateway key bound to it), never a human's.
         *     The same evaluator as the gateway decides: the agent must be active, then its policies (its own
         *     and its workspace's; no policy denies) are checked against `action` (default `METHOD /path`),
         *     `path` and `cost_usd`, then the daily budget, then whether a human must approve. An `allow`
         *     counts `cost_usd` against today's budget at once, so concurrent asks cannot overspend it.
         *     Every answer writes a billing event (`GET /api/v1/billing/events`) and the answer is always 200:
         *     the decision is in the body.
         *
         *     Approval flow: `approval_required` opens an approval (or answers the pending one); when a human has
         *     approved it, ask again with `approval_id` and the same method and path and a cost no higher:
         *     that one ask is allowed, and the approval is used up.
         *
         *     Operation id: `createDecision`.
         */
        post: operations["createDecision"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/enterprise/orgs/{org_id}/retention": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Custom audit retention (Enterprise)
         * @description Overrides how long the org's audit events are kept (seed 000): more than 365 and at most 3650
         *     days (422 otherwise). Without an override the plan's `audit_log_retention_days` applies. An
         *     hourly purge deletes older events; at each cut it stores a checkpoint of the chain at the cut
         *     (seq and hash) signed with Warden's Ed25519 key (the JWKS key), and verification continues
         *     from that checkpoint.
         *
         *     Operation id: `setAuditRetention`.
         */
        put: operations["setAuditRetention"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/environments": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the org's environments
         * @description Seed 002: every environment of every project of the org, oldest first, or only one
         *     project's with `project_id` (a project of another org, or none, answers 404).
         *
         *     Operation id: `listOrgEnvironments`.
         */
        get: operations["listOrgEnvironments"];
        put?: never;
        /**
         * Create an environment in a project
         * @description Seed 002's form of `POST /api/v1/workspaces/{workspace_id}/environments`, with the project in
         *     the body. Names are unique in a project, case-insensitively (409 `ENVIRONMENT_NAME_TAKEN`);
         *     an archived project takes no new environments (409 `PROJECT_ARCHIVED`).
         *
         *     Operation id: `createProjectEnvironment`.
         */
        post: operations["createProjectEnvironment"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/environments/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The environment's `env_` id. An environment of another org answers 404. */
                id: components["parameters"]["EnvironmentIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete an environment
         * @description Seed 002's form of `DELETE /api/v1/workspaces/{workspace_id}/environments/{environment_id}`, by the environment's id alone.
         *
         *     Operation id: `deleteProjectEnvironment`.
         */
        delete: operations["deleteProjectEnvironment"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/gateway/{vendor_id}/{path}": {
        parameters: {
            query?: {
                /** @description Any query parameters, forwarded to the vendor as sent. */
                query?: {
                    [key: string]: string | string[];
                };
            };
            header?: {
                /**
                 * @description The action the call performs, as policies name it (`allowed_actions`, `approval_actions`); defaults to
                 *     `METHOD /path`. Written as `METHOD /path`, it must be this call's method and path (400 `ACTION_MISMATCH`).
                 * @example chat.completions.create
                 */
                "X-Warden-Action"?: string;
                /**
                 * @description An approved approval (from an earlier 202) that lets exactly one matching call through (same method and path, cost at most the approved one).
                 * @example apr_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                "X-Warden-Approval-Id"?: string;
                /**
                 * @description The cost the agent declares for the call in USD, checked against `max_cost_per_request` and counted against the daily budget; 0 when absent.
                 * @example 0.25
                 */
                "X-Warden-Cost-Usd"?: string;
            };
            path: {
                /**
                 * @description The rest of the path, may contain `/`: one or more segments, forwarded as sent (percent-escapes
                 *     kept) after the vendor's `base_url`. A dot segment (`.` or `..`, percent-encoded or not) is
                 *     refused with 400 `GATEWAY_PATH_REFUSED`.
                 * @example v1/chat/completions
                 */
                path: string;
                /**
                 * @description The vendor the gateway key is bound to (`vnd_…`).
                 * @example vnd_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                vendor_id: string;
            };
            cookie?: never;
        };
        /**
         * Call the vendor with GET through the gateway
         * @description Forwards `GET <base_url>/<path>?<query>` to the vendor the gateway key is bound to, with the
         *     vendor's credential in place of the agent's `Authorization` (which is never forwarded), after
         *     the key is authenticated and the call passes the agent's policies, daily budget and, where a
         *     policy asks for one, a human approval. Request and response bodies stream through unbuffered;
         *     hop-by-hop headers (`Connection` and those it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`,
         *     `Transfer-Encoding`, `Upgrade`) and `Host` are not forwarded either way. Redirects are passed
         *     back, not followed. The vendor's status, headers and body come back as they are; Warden's own
         *     answers (202, 4xx, 502, 504) carry `X-Request-Id` and the error shape.
         *
         *     Operation id: `gatewayGet`.
         */
        get: operations["gatewayGet"];
        /**
         * Call the vendor with PUT through the gateway
         * @description Forwards `PUT <base_url>/<path>?<query>` to the vendor the gateway key is bound to, with the
         *     vendor's credential in place of the agent's `Authorization` (which is never forwarded), after
         *     the key is authenticated and the call passes the agent's policies, daily budget and, where a
         *     policy asks for one, a human approval. Request and response bodies stream through unbuffered;
         *     hop-by-hop headers (`Connection` and those it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`,
         *     `Transfer-Encoding`, `Upgrade`) and `Host` are not forwarded either way. Redirects are passed
         *     back, not followed. The vendor's status, headers and body come back as they are; Warden's own
         *     answers (202, 4xx, 502, 504) carry `X-Request-Id` and the error shape.
         *
         *     Operation id: `gatewayPut`.
         */
        put: operations["gatewayPut"];
        /**
         * Call the vendor with POST through the gateway
         * @description Forwards `POST <base_url>/<path>?<query>` to the vendor the gateway key is bound to, with the
         *     vendor's credential in place of the agent's `Authorization` (which is never forwarded), after
         *     the key is authenticated and the call passes the agent's policies, daily budget and, where a
         *     policy asks for one, a human approval. Request and response bodies stream through unbuffered;
         *     hop-by-hop headers (`Connection` and those it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`,
         *     `Transfer-Encoding`, `Upgrade`) and `Host` are not forwarded either way. Redirects are passed
         *     back, not followed. The vendor's status, headers and body come back as they are; Warden's own
         *     answers (202, 4xx, 502, 504) carry `X-Request-Id` and the error shape.
         *
         *     Operation id: `gatewayPost`.
         */
        post: operations["gatewayPost"];
        /**
         * Call the vendor with DELETE through the gateway
         * @description Forwards `DELETE <base_url>/<path>?<query>` to the vendor the gateway key is bound to, with the
         *     vendor's credential in place of the agent's `Authorization` (which is never forwarded), after
         *     the key is authenticated and the call passes the agent's policies, daily budget and, where a
         *     policy asks for one, a human approval. Request and response bodies stream through unbuffered;
         *     hop-by-hop headers (`Connection` and those it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`,
         *     `Transfer-Encoding`, `Upgrade`) and `Host` are not forwarded either way. Redirects are passed
         *     back, not followed. The vendor's status, headers and body come back as they are; Warden's own
         *     answers (202, 4xx, 502, 504) carry `X-Request-Id` and the error shape.
         *
         *     Operation id: `gatewayDelete`.
         */
        delete: operations["gatewayDelete"];
        options?: never;
        head?: never;
        /**
         * Call the vendor with PATCH through the gateway
         * @description Forwards `PATCH <base_url>/<path>?<query>` to the vendor the gateway key is bound to, with the
         *     vendor's credential in place of the agent's `Authorization` (which is never forwarded), after
         *     the key is authenticated and the call passes the agent's policies, daily budget and, where a
         *     policy asks for one, a human approval. Request and response bodies stream through unbuffered;
         *     hop-by-hop headers (`Connection` and those it names, `Keep-Alive`, `Proxy-*`, `TE`, `Trailer`,
         *     `Transfer-Encoding`, `Upgrade`) and `Host` are not forwarded either way. Redirects are passed
         *     back, not followed. The vendor's status, headers and body come back as they are; Warden's own
         *     answers (202, 4xx, 502, 504) carry `X-Request-Id` and the error shape.
         *
         *     Operation id: `gatewayPatch`.
         */
        patch: operations["gatewayPatch"];
        trace?: never;
    };
    "/api/v1/gitops-app-mappings": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List GitOps application mappings
         * @description The org's mappings, newest first, optionally those of one Argo CD endpoint. 404 while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `listGitopsAppMappings`.
         */
        get: operations["listGitopsAppMappings"];
        put?: never;
        /**
         * Map an Argo CD application to the secrets it consumes
         * @description Says that Argo CD application `app_name` on endpoint `argocd_endpoint_id` consumes the
         *     discovered secrets of `cluster_name` (of `provider` and with refs starting with `ref_prefix`,
         *     where given). After a patch of such a secret completes, Warden observes the application until
         *     Argo CD reports it Synced and Healthy (`GET /requests/{id}/gitops`). 404
         *     `ARGOCD_ENDPOINT_NOT_FOUND` for an endpoint not in the org; 409 `GITOPS_APP_MAPPING_EXISTS`
         *     for the same mapping twice. 404 while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `createGitopsAppMapping`.
         */
        post: operations["createGitopsAppMapping"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/gitops-app-mappings/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The mapping's id (`gam_…`). */
                id: components["parameters"]["GitopsAppMappingIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a GitOps application mapping
         * @description Later patches no longer observe the application through this mapping; observations already recorded stay. 404 while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `deleteGitopsAppMapping`.
         */
        delete: operations["deleteGitopsAppMapping"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/image-registry-credentials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List registry credentials
         * @description The org's registry credentials, newest first; never their secrets, at most their last four characters.
         *
         *     Operation id: `listImageRegistryCredentials`.
         */
        get: operations["listImageRegistryCredentials"];
        put?: never;
        /**
         * Add a registry credential
         * @description Stores what Warden presents to one registry host when it reads the org's images: `username`
         *     and `password`, or an access `token` (one or the other: 422 `REGISTRY_CREDENTIAL_INVALID`
         *     otherwise). The secret is encrypted at rest and never returned, logged or audited. One
         *     credential per registry host: 409 `REGISTRY_CREDENTIAL_EXISTS` for a host that has one
         *     (delete it first). 503 `ENCRYPTION_KEY_MISSING` when this Warden has no key-encryption key.
         *
         *     Operation id: `createImageRegistryCredential`.
         */
        post: operations["createImageRegistryCredential"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/image-registry-credentials/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The registry credential's id (`rcred_…`). */
                id: components["parameters"]["RegistryCredentialIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a registry credential
         * @description Deletes the credential and its ciphertext; later scans of that registry go anonymously. Another org's credential answers 404.
         *
         *     Operation id: `deleteImageRegistryCredential`.
         */
        delete: operations["deleteImageRegistryCredential"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/image-scans/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The scan's id (`iscan_…`). */
                id: components["parameters"]["ImageScanIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a scan's status
         * @description One scan of the org's (the 202 of `POST /api/v1/images/{ref}/scan` points here): `queued`,
         *     `running`, `succeeded` or `failed` with its reason. A scan of another org answers 404.
         *
         *     Operation id: `getImageScan`.
         */
        get: operations["getImageScan"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/images": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List scanned images
         * @description The images the org has asked Warden to scan (seed 000), one per reference, newest first, each
         *     with its latest scan's id and status. Starter plan and up (feature `fleet_ops`).
         *
         *     Operation id: `listImages`.
         */
        get: operations["listImages"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/images/{ref}/scan": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The image reference, percent-encoded as one path segment (`my-org%2Fmy-agent:v1.0.0`):
                 *     `[registry/]repository[:tag][@sha256:digest]`. Without a registry host (a first component with
                 *     a `.` or `:`, or `localhost`) the image is on `IMAGE_DEFAULT_REGISTRY`; without a tag or digest
                 *     the tag is `latest`.
                 * @example my-org%2Fmy-agent:v1.0.0
                 */
                ref: components["parameters"]["ImageRefPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Scan an image
         * @description Seed 000's image scan. Warden asks the image's registry (OCI Distribution API, through the
         *     outbound client, with the org's credential for that registry if it has one) which digest
         *     the reference points to, then answers 202 with the scan while a background worker reads the
         *     manifest, config and layers, extracts the package inventory and matches it against the OSV
         *     advisories in `OSV_DATA_DIR`; poll `GET /api/v1/image-scans/{id}` and read the result at
         *     `GET /api/v1/images/{ref}/scan-report`.
         *
         *     One scan runs at a time per image digest in an org: asking again while one is queued or
         *     running answers 202 with that scan (no second one starts). A registry that cannot be
         *     reached, refuses the credential, or answers garbage gives a scan that is `failed` at once,
         *     with the reason. Starter plan and up (feature `fleet_ops`); audited as `image.scan_requested`
         *     when a scan is created. A malformed reference answers 400 `IMAGE_REF_INVALID`. Counts against
         *     the `image_scan` rate limit: 120 an hour per org and 240 per client IP (429 with `Retry-After`).
         *
         *     Operation id: `scanImage`.
         */
        post: operations["scanImage"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/images/{ref}/scan-report": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The image reference, percent-encoded as one path segment (`my-org%2Fmy-agent:v1.0.0`):
                 *     `[registry/]repository[:tag][@sha256:digest]`. Without a registry host (a first component with
                 *     a `.` or `:`, or `localhost`) the image is on `IMAGE_DEFAULT_REGISTRY`; without a tag or digest
                 *     the tag is `latest`.
                 * @example my-org%2Fmy-agent:v1.0.0
                 */
                ref: components["parameters"]["ImageRefPath"];
            };
            cookie?: never;
        };
        /**
         * Get an image's scan report
         * @description The report of the latest succeeded scan of this reference (seed 000): digest, size, layers,
         *     base OS, the package inventory, and the findings grouped by severity with their fixed
         *     versions. When no advisories were loaded (`OSV_DATA_DIR` unset or empty) the report says so
         *     (`advisories.loaded` false, `verdict` `no_advisories_loaded`) instead of calling the image
         *     clean. 404 `IMAGE_SCAN_REPORT_NOT_FOUND` when no scan of the reference has succeeded in the
         *     caller's org (the message says whether one is under way or failed, and why).
         *
         *     Operation id: `getImageScanReport`.
         */
        get: operations["getImageScanReport"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/installations/{id}/beacon/register": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The installation's id. */
                id: components["parameters"]["InstallationIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Register a liveness beacon
         * @description Records where the installation runs (seed 000), e.g. a Kubernetes pod; a later call replaces it.
         *
         *     Operation id: `registerInstallationBeacon`.
         */
        post: operations["registerInstallationBeacon"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/installations/{id}/lease": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The installation's id. */
                id: components["parameters"]["InstallationIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Heartbeat / lease renewal
         * @description The installation reports its status and health with its runtime token (`Authorization:
         *     Bearer srt_…`) and gets its lease (seed 000): `lease_expires_at` (three heartbeat intervals
         *     ahead), `next_heartbeat_at`, and `command`: null, or `{type: shutdown, reason, timeout_ms}`
         *     once the installation or its agent is revoked or disabled. `timeout_ms` is what is left of
         *     the revocation's `shutdown_timeout_ms` (0 for a stopped agent, and once the deadline has
         *     passed: stop now). The runtime token of a revoked installation or of a stopped agent keeps
         *     reaching this operation only, until it expires or is replaced, so an installation that was
         *     offline at the revocation still hears the command at its next lease. `refreshed_token` is
         *     present only when the current token is within 7 days of expiry (never with a command); it
         *     replaces the current token at once. An installation whose lease lapsed is listed as `stale`.
         *
         *     Not every renewal is an event: a renewal is a liveness ping every 10 seconds to an hour per installation, and
         *     an event per ping would flood the org's audit chain (and make every lease wait its turn at
         *     the chain's head) without recording any change of rights. The lease that hands out a new
         *     runtime token is audited (`x-audit-recorded-by: service`), as
         *     `installation.runtime_token_renewed` in the same transaction,
         *     with the new token's version and expiry but not the token.
         *
         *     Operation id: `renewInstallationLease`.
         */
        post: operations["renewInstallationLease"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/installations/{id}/refresh": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The installation's id. */
                id: components["parameters"]["InstallationIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Refresh the runtime token
         * @description Exchanges the installation's refresh token for a new runtime token (seed 000) and a new
         *     refresh token: refresh tokens rotate on every use (RFC 9700 §4.14.2). `token_version` goes
         *     up by one and the previous runtime token stops working at once (no grace period).
         *
         *     The presented refresh token is spent. Presented again within 30 seconds of its rotation (a
         *     retry after a lost answer, or concurrent refreshes with one token) while its pair is still
         *     current, it returns that same pair, runtime and refresh token, unchanged. Presented later,
         *     or after its successor was used, or after a recovery replaced it, it revokes the whole
         *     family: every runtime and refresh token of the installation (401 `REFRESH_TOKEN_REUSED`,
         *     audited as `installation.refresh_token_reused`); the installation then needs a recovery.
         *
         *     Each answered refresh is an `installation.token_refreshed` event, by the installation, with
         *     the tokens redacted.
         *
         *     Operation id: `refreshInstallationToken`.
         */
        post: operations["refreshInstallationToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/installations/{id}/revoke": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The installation's id. */
                id: components["parameters"]["InstallationIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revoke an installation
         * @description Stops one installation (seed 000): its refresh tokens die at once, and every lease from now
         *     on, the next one first, answers `{type: shutdown, reason, timeout_ms}` whatever
         *     `shutdown_timeout_ms` (0–600000, default 0) is: `timeout_ms` counts down to the
         *     `shutdown_deadline` the installation has to finish its work, and is 0 from then on (stop
         *     now). The runtime token reaches nothing but that lease, which never hands out a new token
         *     again. Revoking again is a no-op.
         *
         *     Operation id: `revokeInstallation`.
         */
        post: operations["revokeInstallation"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/installations/bootstrap": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Bootstrap an installation
         * @description Exchanges an install token for runtime credentials (seed 000): an installation, a 90-day
         *     `srt_…` runtime token and a `srf_…` refresh token. Idempotent for 60 seconds: the same
         *     install token again returns the same answer, the same runtime and refresh tokens (sealed
         *     under the install token, erased once the window closed); a repeat never mints a token.
         *     Concurrent bootstraps with one token create exactly one installation and all get that one
         *     answer. Once the installation was refreshed, recovered or revoked, or after the 60 seconds,
         *     the install token is spent and refused (401 `INSTALL_TOKEN_USED`), as it is once expired.
         *
         *     Every answered bootstrap, a repeat too (it hands the credentials out again), is an
         *     `installation.bootstrapped` event in the installation's org, by the installation, with the
         *     tokens redacted.
         *
         *     Operation id: `bootstrapInstallation`.
         */
        post: operations["bootstrapInstallation"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/installations/recovery": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Recovery bootstrap
         * @description Re-bootstraps the agent's installation in a workspace without an install token (seed 000),
         *     with an API key that may manage installations. Returns the bootstrap shape with a new
         *     runtime token and a new refresh token; every earlier refresh token of that installation
         *     dies, and presenting one later revokes the installation's tokens. Creates the installation
         *     when the agent has none in the workspace.
         *
         *     Operation id: `recoverInstallation`.
         */
        post: operations["recoverInstallation"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/jobs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List jobs
         * @description The org's jobs, newest first, optionally only those with a `status`, of a `cluster_name`, pinned to or claimed by an `agent_id`, or carrying out a `request_id`.
         *
         *     Operation id: `listJobs`.
         */
        get: operations["listJobs"];
        put?: never;
        /**
         * Enqueue a job
         * @description Puts a job on the org's queue (seed 002's admin `POST /jobs`). Without `agent_id` any agent
         *     of the org serving `cluster_name` may claim it; with `agent_id` only that agent may (404
         *     `AGENT_NOT_FOUND` when the org has no such agent). `payload` is what the agent needs (at
         *     most 16 KiB as JSON, nested at most 8 levels: 422 `JOB_PAYLOAD_TOO_LARGE` beyond); never put
         *     a secret's value in it. `max_attempts` (1-10, default 3) bounds how often an expired lease
         *     returns the job to the queue. Agents waiting to claim are woken as soon as the job is
         *     committed.
         *
         *     Only `kind: custom` may be enqueued here (422 `VALIDATION_FAILED` for `read` or `patch`): jobs
         *     that read or patch a secret come only from approved access requests, which Warden enqueues
         *     itself with the request's id, so no admin or API key can skip the approval workflow. A custom
         *     job's `payload` is shown to every holder of `job.read` (`GET /jobs`, `GET /jobs/{id}`): it must
         *     not carry a secret's value or any other secret.
         *
         *     Operation id: `createJob`.
         */
        post: operations["createJob"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/jobs/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The job's id (`job_…`). */
                id: string;
            };
            cookie?: never;
        };
        /**
         * Get a job
         * @description One job of the org; another org's, or an unknown id, is 404 `JOB_NOT_FOUND`.
         *
         *     Operation id: `getJob`.
         */
        get: operations["getJob"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List gateway keys
         * @description The org's gateway keys, newest first, revoked ones included (with `revoked_at`), optionally
         *     for one agent or one vendor. Secrets are never listed: only each key's prefix and last four characters.
         *
         *     Operation id: `listGatewayKeys`.
         */
        get: operations["listGatewayKeys"];
        put?: never;
        /**
         * Create a gateway key
         * @description Seed 001's "Secu key": a key bound to one agent and one vendor of the org, returned once in
         *     `key` (`sgk_…`, with a CRC32 checksum suffix) and stored only as a SHA-256 digest. The agent
         *     or the vendor of another org, or a deleted vendor, is 404; a revoked agent is 409
         *     `AGENT_REVOKED` (a disabled one may get keys, which work once the kill switch lifts).
         *
         *     Operation id: `createGatewayKey`.
         */
        post: operations["createGatewayKey"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The gateway key's id (`gwk_…`), never its secret. */
                id: components["parameters"]["GatewayKeyIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Revoke a gateway key
         * @description Revokes the key: the next call with it gets 401 `CREDENTIAL_REVOKED`. The key stays listed
         *     with `revoked_at`; revoking a revoked key is a no-op.
         *
         *     Operation id: `revokeGatewayKey`.
         */
        delete: operations["revokeGatewayKey"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/keys/current": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The calling gateway key
         * @description For an agent holding a gateway key: which agent and vendor the key is bound to. Answers only
         *     while the key works, so it doubles as a check: 401 `CREDENTIAL_REVOKED` once the key is
         *     revoked, 403 `GATEWAY_KEY_AGENT_STOPPED` while its agent is disabled or revoked, 403
         *     `GATEWAY_KEY_VENDOR_DELETED` once its vendor is deleted.
         *
         *     Operation id: `getCurrentGatewayKey`.
         */
        get: operations["getCurrentGatewayKey"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/kill-switch/{agent_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its `sekuire_id`. */
                agent_id: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Kill switch - disable an agent
         * @description Disables the agent at once (seed 001), optionally with a reason and until `expires_at`.
         *     Seed 001 sends no body at all; that disables the agent with no reason, until enabled.
         *     From the moment this returns every credential of the agent is refused, and each
         *     installation's next lease answers the `shutdown` command. `POST /api/v1/agents/{id}/enable`
         *     lifts it. A revoked agent cannot be disabled (409). A kill never shortens a kill in force:
         *     the later end stands, and one without `expires_at` (until enabled) outlasts any; to end a
         *     stop sooner, enable the agent.
         *
         *     Operation id: `killAgent`.
         */
        post: operations["killAgent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ledger/accounts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the org's ledger accounts
         * @description The ledger accounts of the org and of its agents, one per owner and currency, with their balances
         *     in minor units, oldest first. `agent_id` narrows to one agent's accounts. `org_id` may be given and
         *     must be the caller's org (404 otherwise).
         *
         *     Operation id: `listLedgerAccounts`.
         */
        get: operations["listLedgerAccounts"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/ledger/deposits": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Record money paid into the org's ledger
         * @description Records money the org paid in from outside Warden (a bank transfer, a card payment) and credits it to
         *     the org's account in `currency`, or to one of its agents' accounts with `agent_id`. The ledger books it
         *     as a transfer (`kind: deposit`) from its outside-world account, so every entry still has its
         *     counter-entry. The account is opened on first use. `idempotency_key` works as on transfers (24 hours,
         *     409 `IDEMPOTENCY_KEY_REUSED` for another body).
         *
         *     Operation id: `createLedgerDeposit`.
         */
        post: operations["createLedgerDeposit"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/marketplace/hire": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Hire an agent listed on the registry network
         * @description Seed 001's hire: links the caller's org to an agent listed on the registry network (`to_agent_id`;
         *     an agent that is not listed, or not active, is 404 `AGENT_NOT_LISTED`), on the terms given. An org hires
         *     an agent once (409 `AGENT_ALREADY_HIRED`); its own agents are not for hire (422 `TRANSFER_RECIPIENT_INVALID`).
         *
         *     With `charge_now` and an `amount`, the initial charge goes through the ledger in the same transaction:
         *     `amount` leaves the hiring org's account in `currency` and reaches the agent's account (`rail` must be
         *     `ledger`, the default; 409 `INSUFFICIENT_FUNDS` and nothing is written when the org's balance is short).
         *     `idempotency_key` works as on transfers (24 hours; 409 `IDEMPOTENCY_KEY_REUSED` for another body).
         *
         *     No credential is returned: Warden's gateway keys bind an agent to a vendor of the agent's own org, so a
         *     key "for the hired agent" would let the hirer act as that agent inside its owner's org. The hire record is
         *     what the hirer and the agent's owner reconcile against.
         *
         *     Operation id: `hireAgent`.
         */
        post: operations["hireAgent"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/me": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * My profile (seed 003)
         * @description Seed 003's "first API call": who the credential belongs to, as `uuid`, `email`, `firstname`
         *     and `lastname`, with the org, the credential kind and its effective permissions. Works with
         *     any credential (`Authorization: Bearer sk_live_…` as seed 003 shows, `X-API-Key`, a login
         *     JWT, an admin session) and needs no permission. For an API key it reports the user who
         *     created the key; a key no user created (the one printed at first start) reports the org's
         *     first owner (`user_source: org_owner`). `GET /api/v1/auth/me` answers the full principal.
         *
         *     It answers a device-bound key from an unbound device too (`api_key.device_id: null`), so a
         *     client can verify a key before binding the device it runs on.
         *
         *     Operation id: `getMe`.
         */
        get: operations["getMe"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List orgs
         * @description The orgs the caller can see: its own org for a user or API key, every org for a platform
         *     admin. Newest first.
         *
         *     Operation id: `listOrgs`.
         */
        get: operations["listOrgs"];
        put?: never;
        /**
         * Create an org (platform admin)
         * @description Creates an org on the free plan, or the plan given. Only platform admins hold
         *     `org.create`. To give the org its first user, follow with `POST /api/v1/users` and
         *     `org_id`, or let people sign up with `POST /api/v1/auth/signup`.
         *
         *     Operation id: `createOrg`.
         */
        post: operations["createOrg"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org_id}/plan": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Set an org's plan (platform admin)
         * @description Moves an org to another plan. Takes effect on the next request: features and quotas are
         *     read from the plan table each time. Objects over a smaller plan's quota stay; only new
         *     ones are refused.
         *
         *     Operation id: `setOrgPlan`.
         */
        put: operations["setOrgPlan"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org_id}/workspaces": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        /**
         * List workspaces
         * @description The org's workspaces, newest first.
         *
         *     Operation id: `listWorkspaces`.
         */
        get: operations["listWorkspaces"];
        put?: never;
        /**
         * Create a workspace
         * @description Creates a workspace. Names are unique in an org (case-insensitive; 409 otherwise). A user
         *     who creates one becomes its admin member. Counts against the plan's workspace quota (402).
         *
         *     Operation id: `createWorkspace`.
         */
        post: operations["createWorkspace"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org_id}/workspaces/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a workspace
         * @description One workspace of the org.
         *
         *     Operation id: `getWorkspace`.
         */
        get: operations["getWorkspace"];
        /**
         * Update a workspace
         * @description Replaces the workspace's name and description (omitting `description` keeps it).
         *
         *     Operation id: `updateWorkspace`.
         */
        put: operations["updateWorkspace"];
        post?: never;
        /**
         * Delete a workspace
         * @description Deletes the workspace with its memberships and environments. A workspace that still has
         *     agents or installations is 409 `WORKSPACE_NOT_EMPTY`, naming them (up to 20 ids each);
         *     `?force=true` deletes them too: the agents, their installations, install tokens and runtime
         *     and refresh tokens, in the same transaction.
         *
         *     Operation id: `deleteWorkspace`.
         */
        delete: operations["deleteWorkspace"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org_id}/workspaces/{id}/members": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        /**
         * List a workspace's members
         * @description The workspace's members with their workspace roles, oldest membership first.
         *
         *     Operation id: `listWorkspaceMembers`.
         */
        get: operations["listWorkspaceMembers"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/orgs/{org_id}/workspaces/{id}/members/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
                /** @description The user's id. */
                user_id: components["parameters"]["UserIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Add a member or change their role
         * @description Makes a user of the same org a member of the workspace with the given role, or changes the
         *     role of an existing member. Idempotent.
         *
         *     Operation id: `setWorkspaceMember`.
         */
        put: operations["setWorkspaceMember"];
        post?: never;
        /**
         * Remove a member
         * @description Ends the user's membership of the workspace (404 when they are not a member).
         *
         *     Operation id: `removeWorkspaceMember`.
         */
        delete: operations["removeWorkspaceMember"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/permissions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List the permission catalog
         * @description Every permission Warden knows, with what it allows. Roles, API keys and every operation's
         *     `x-permission` use these names. The catalog changes only with a new Warden version, so
         *     the answer may be cached for 5 minutes.
         *
         *     Operation id: `listPermissions`.
         */
        get: operations["listPermissions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/plans": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List plans
         * @description Warden's plan table, the one structure every plan check reads: the features each plan
         *     includes (an operation's `x-plan-feature` names one; without it the answer is 402
         *     `plan_limit_exceeded`) and its quotas (creating one more object than the quota allows is
         *     402 with `current_usage`). Plans are listed cheapest first; each includes everything the
         *     cheaper ones do. The example below is the table as this version ships it (a test keeps the
         *     two equal).
         *
         *     Operation id: `listPlans`.
         */
        get: operations["listPlans"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/policies": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List policies
         * @description The org's live policies at their current versions, newest first.
         *
         *     Operation id: `listPolicies`.
         */
        get: operations["listPolicies"];
        put?: never;
        /**
         * Create a policy
         * @description Creates a policy at version 1 (seed 001's body). `org_id` may be given and must be the
         *     caller's org (a platform admin names any org). Names are unique in the org, ignoring case
         *     (409 `POLICY_NAME_TAKEN`). USD amounts take at most 6 decimal places (422 otherwise).
         *     Rules: a call is denied when `allowed_actions` is not empty and its action matches none,
         *     when its canonical path starts with a `denied_path_prefixes` entry, or when its cost is
         *     over `max_cost_per_request`; otherwise it needs a human approval when `require_approval`
         *     is set, its cost is at least `approval_min_cost`, or its action matches `approval_actions`.
         *     An agent is governed by its own policies, then its workspace's, in order: the first denial
         *     wins, then the first approval rule that applies. An agent with no policy at all is denied
         *     every call (`no_policy`): Warden denies by default.
         *
         *     Operation id: `createPolicy`.
         */
        post: operations["createPolicy"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/policies/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The policy's `pol_` id. A policy of another org answers 404. */
                id: components["parameters"]["PolicyIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a policy
         * @description One live policy at its current version. A deleted policy answers 404 (its versions stay readable).
         *
         *     Operation id: `getPolicy`.
         */
        get: operations["getPolicy"];
        /**
         * Replace a policy
         * @description Replaces the policy's whole content (omitted fields take their defaults) as a new version,
         *     one more than the current. Earlier versions stay readable. Agents and workspaces naming the
         *     policy are governed by the new version from the next call. Rules as for `createPolicy`.
         *
         *     Operation id: `updatePolicy`.
         */
        put: operations["updatePolicy"];
        post?: never;
        /**
         * Delete a policy
         * @description Deletes the policy: it governs nothing from now on and its name is free again; its versions
         *     stay readable so past decisions can be explained. A policy that agents or workspaces still
         *     name is 409 `POLICY_IN_USE`, naming them (up to 20 ids each); `?force=true` deletes it and
         *     removes it from them, in one transaction.
         *
         *     Operation id: `deletePolicy`.
         */
        delete: operations["deletePolicy"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/policies/{id}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The policy's `pol_` id. A policy of another org answers 404. */
                id: components["parameters"]["PolicyIdPath"];
            };
            cookie?: never;
        };
        /**
         * List a policy's versions
         * @description Every version of the policy, newest first; also for a deleted policy, so past decisions can be explained.
         *
         *     Operation id: `listPolicyVersions`.
         */
        get: operations["listPolicyVersions"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/policies/{id}/versions/{version}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The policy's `pol_` id. A policy of another org answers 404. */
                id: components["parameters"]["PolicyIdPath"];
                /** @description The version number. */
                version: number;
            };
            cookie?: never;
        };
        /**
         * Get one version of a policy
         * @description One version of the policy, as a decision that recorded it saw it; also for a deleted policy.
         *
         *     Operation id: `getPolicyVersion`.
         */
        get: operations["getPolicyVersion"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List projects
         * @description Seed 002's name for a workspace: the org's projects are its workspaces (same rows, same
         *     `ws_` ids as `GET /api/v1/orgs/{org_id}/workspaces`), newest first, optionally only the
         *     `active` or `archived` ones.
         *
         *     Operation id: `listProjects`.
         */
        get: operations["listProjects"];
        put?: never;
        /**
         * Create a project
         * @description Seed 002's name for a workspace: creates a workspace, exactly as `POST
         *     /api/v1/orgs/{org_id}/workspaces` does (the same quota, 402 when it is used up; a user who
         *     creates it becomes its admin member). Names are unique in an org, case-insensitively (409
         *     `PROJECT_NAME_TAKEN`). A new project is `active`.
         *
         *     Operation id: `createProject`.
         */
        post: operations["createProject"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The project's id (a workspace's `ws_` id). A project of another org answers 404. */
                id: components["parameters"]["ProjectIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a project
         * @description Seed 002's name for a workspace; the same object as `GET /api/v1/orgs/{org_id}/workspaces/{id}`.
         *
         *     Operation id: `getProject`.
         */
        get: operations["getProject"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects/{id}/environments": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The project's id (a workspace's `ws_` id). A project of another org answers 404. */
                id: components["parameters"]["ProjectIdPath"];
            };
            cookie?: never;
        };
        /**
         * List a project's environments
         * @description Seed 002's name for a workspace's environments; the same list as `GET /api/v1/workspaces/{workspace_id}/environments`, oldest first.
         *
         *     Operation id: `listProjectEnvironments`.
         */
        get: operations["listProjectEnvironments"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/projects/{id}/status": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The project's id (a workspace's `ws_` id). A project of another org answers 404. */
                id: components["parameters"]["ProjectIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Archive or reactivate a project
         * @description Seed 002's name for a workspace. `archived` closes the project to new environments and new
         *     access requests (409 `PROJECT_ARCHIVED`); what it holds stays readable, and pending requests
         *     run their course. `active` reopens it. Idempotent: setting the status it has changes nothing
         *     (`archived_at` keeps the first archiving).
         *
         *     Operation id: `setProjectStatus`.
         */
        put: operations["setProjectStatus"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/public/tx/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Public transfer statistics of this Warden
         * @description Aggregates over every org's transfers created in [`from`, `to`) - by default the last 30 days - for a
         *     public dashboard: counts, settled volume per currency and hires. It names no org, agent or transfer. No
         *     credential is needed; answers are computed at most once a minute per period (`from` is rounded down and
         *     `to` up to a whole minute) and the operation is rate-limited per client IP. `from` after `to`, or a period over 366
         *     days, is 400.
         *
         *     Operation id: `getPublicTxStats`.
         */
        get: operations["getPublicTxStats"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/registry/network/agents": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Agents on the registry network
         * @description Seed 000's registry network agents (Professional plan and up; 402 `plan_limit_exceeded` otherwise): the
         *     agents every org has listed, oldest listing first, with seed 000's query - `category`, `verified_only`,
         *     `limit` (1-100, default 20) and `offset`. `total` counts every match. Revoked agents are left out.
         *
         *     Operation id: `listRegistryNetworkAgents`.
         */
        get: operations["listRegistryNetworkAgents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/registry/network/summary": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Registry network summary
         * @description Seed 000's registry network summary (Professional plan and up; 402 `plan_limit_exceeded` otherwise):
         *     how many agents every org has listed, how many of them are verified, and the count per category. It
         *     names no org.
         *
         *     Operation id: `getRegistryNetworkSummary`.
         */
        get: operations["getRegistryNetworkSummary"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List access requests
         * @description Access requests, newest first. A holder of `request.read` sees every request of the org; anyone
         *     else only their own. Filters: `requester_id` and `status` (a pending request past its
         *     `expires_at` is listed, and filtered, as `expired`).
         *
         *     Operation id: `listAccessRequests`.
         */
        get: operations["listAccessRequests"];
        put?: never;
        /**
         * Ask to change a secret's value (patch request)
         * @description Seed 002's patch request: asks to set a secret to a new `value`. The value is encrypted at
         *     once into a single-shot wrap (`kind: patch`) that only the agent carrying out the approved
         *     job retrieves, once; it never reaches the database, logs or audit log in plaintext, and no
         *     answer repeats it.
         *     The caller (a user: a login, or an API key a user made) is the requester. The request is judged
         *     at once under the highest-priority workflow matching its project, environment, kind and the
         *     secret's labels, and records that workflow's id and version: an auto-approving workflow approves
         *     it on creation (and queues the job), otherwise it waits for `required_approvals` approvals (one
         *     when no workflow matches). The secret vouches for the environment: when it carries an
         *     `environment` (or `env`) label, the request's environment name must equal it (case-insensitively),
         *     else 422 `ENVIRONMENT_MISMATCH`; without such a label the environment is unverified and no
         *     workflow's environment criteria (`environment_ids`, `environment_names`) match it.
         *     Refused with 404 for an unknown (or another org's) project,
         *     environment or secret, 409 `PROJECT_ARCHIVED` for an archived project, and 403 `USER_REQUIRED`
         *     for a credential no user stands behind.
         *
         *     Operation id: `createPatchRequest`.
         */
        post: operations["createPatchRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get an access request
         * @description One request with its approvals inline. Its requester and holders of `request.read` see it;
         *     for anyone else, as for another org's, it is 404.
         *
         *     Operation id: `getAccessRequest`.
         */
        get: operations["getAccessRequest"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests/{id}/approve": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Approve an access request
         * @description Records the caller's approval. The approval that reaches `required_approvals` approves the
         *     request and queues its job for an agent serving the secret's cluster, in the same transaction.
         *     Approvers decide with a login (a person's session): an API key is refused with 403
         *     `HUMAN_DECISION_REQUIRED`, because a key can be scripted and approval is meant to be a person's
         *     judgement. The requester never decides their own request (403 `SELF_APPROVAL_FORBIDDEN`), nor
         *     does the user who created the requester (the requester's `created_by`; 403
         *     `CREATOR_DECISION_FORBIDDEN`), so an admin cannot create a member, file a request as that
         *     member and decide it themselves; when the
         *     request's workflow names `approver_roles`, the approver must hold one of them (403
         *     `APPROVER_ROLE_REQUIRED`). `approver_id` must be the caller (403 `ACTOR_MISMATCH`). Each approver
         *     decides once (409 `ALREADY_DECIDED_BY_YOU`); a request that is no longer pending answers 409
         *     `REQUEST_NOT_PENDING` (or `REQUEST_EXPIRED` past `expires_at`). Decisions on one request are
         *     serialized under a row lock, so of concurrent decisions exactly one completes it.
         *
         *     Operation id: `approveAccessRequest`.
         */
        post: operations["approveAccessRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel an access request
         * @description The requester withdraws a pending request (seed 002: only the requester). `actor_id` must be the
         *     caller (403 `ACTOR_MISMATCH`); anyone else who can see the request is refused with 403
         *     `NOT_THE_REQUESTER`. A patch request's value (its wrap) is destroyed. A request that is no longer
         *     pending answers 409 `REQUEST_NOT_PENDING` (`REQUEST_EXPIRED` past `expires_at`).
         *
         *     Operation id: `cancelAccessRequest`.
         */
        post: operations["cancelAccessRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests/{id}/gitops": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's id (`acr_…`). */
                id: string;
            };
            cookie?: never;
        };
        /**
         * See which Argo CD applications picked up a patch
         * @description After a patch request's job completes, one observation per mapped Argo CD application that
         *     consumes the secret, with each sync/health transition Warden saw (e.g. `OutOfSync` at t1, then
         *     `Synced`/`Healthy` at t2) and the final state. Open observations are refreshed while you read:
         *     Warden asks Argo CD (`GET /api/v1/applications/{name}`) for each one it has not asked within
         *     the last few seconds, outside any database transaction; an Argo CD that fails leaves
         *     `last_error` set, not an error answer. Visible to the requester and to holders of
         *     `request.read` in its org; 404 otherwise. The seed's `?user_id=` is accepted when it names
         *     the caller, else 403 `ACTOR_MISMATCH`. 404 while `GITOPS_ENABLED` is off.
         *
         *     Operation id: `getRequestGitops`.
         */
        get: operations["getRequestGitops"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests/{id}/reject": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Reject an access request
         * @description Rejects the request: one rejection ends it, whatever approvals it had. A patch request's
         *     value (its wrap) is destroyed.
         *     Approvers decide with a login (a person's session): an API key is refused with 403
         *     `HUMAN_DECISION_REQUIRED`, because a key can be scripted and approval is meant to be a person's
         *     judgement. The requester never decides their own request (403 `SELF_APPROVAL_FORBIDDEN`), nor
         *     does the user who created the requester (the requester's `created_by`; 403
         *     `CREATOR_DECISION_FORBIDDEN`), so an admin cannot create a member, file a request as that
         *     member and decide it themselves; when the
         *     request's workflow names `approver_roles`, the approver must hold one of them (403
         *     `APPROVER_ROLE_REQUIRED`). `approver_id` must be the caller (403 `ACTOR_MISMATCH`). Each approver
         *     decides once (409 `ALREADY_DECIDED_BY_YOU`); a request that is no longer pending answers 409
         *     `REQUEST_NOT_PENDING` (or `REQUEST_EXPIRED` past `expires_at`). Decisions on one request are
         *     serialized under a row lock, so of concurrent decisions exactly one completes it.
         *
         *     Operation id: `rejectAccessRequest`.
         */
        post: operations["rejectAccessRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests/{id}/wraps": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        /**
         * List a request's wraps
         * @description Value-free summaries of the request's wraps: whether each is still `available`, was
         *     `retrieved` (when, by whom) or `expired`. Whoever may see the request may list them (its
         *     requester, and holders of `request.read`), but only the requester — who alone unwraps a read
         *     value, and who wrote a patch value — is told each value's length: for everyone else
         *     `size_bytes` is left out, since a length hints at the value (a 4-digit PIN, a token's format).
         *
         *     Operation id: `listRequestWraps`.
         */
        get: operations["listRequestWraps"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests/{id}/wraps/{wrap_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
                /** @description The wrap's `wrp_` id. */
                wrap_id: components["parameters"]["WrapIdPath"];
            };
            cookie?: never;
        };
        /**
         * Retrieve a read wrap's value (once)
         * @description The requester retrieves the value an agent fetched for their read request, in plaintext, once:
         *     the ciphertext is destroyed in the same transaction, so a second retrieval, or one after
         *     `expires_at`, answers 410 `WRAP_GONE`; of concurrent retrievals exactly one gets the value.
         *     Only the requester retrieves (403 `NOT_THE_REQUESTER` for others who can see the request), and
         *     only read wraps (a patch wrap is for the agent: 404). Recorded in the audit log as
         *     `wrap.retrieved`, without the value. Send `Cache-Control: no-store`-respecting clients only:
         *     the answer carries `Cache-Control: no-store`.
         *
         *     Operation id: `retrieveRequestWrap`.
         */
        get: operations["retrieveRequestWrap"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/requests/read": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Ask to read a secret's value (read request)
         * @description Seed 002's read request: asks to see a secret's current value. Once approved, an agent serving
         *     the secret's cluster fetches it and posts it as a single-shot wrap, which the requester
         *     retrieves once with `GET /requests/{id}/wraps/{wrap_id}`.
         *     The caller (a user: a login, or an API key a user made) is the requester. The request is judged
         *     at once under the highest-priority workflow matching its project, environment, kind and the
         *     secret's labels, and records that workflow's id and version: an auto-approving workflow approves
         *     it on creation (and queues the job), otherwise it waits for `required_approvals` approvals (one
         *     when no workflow matches). The secret vouches for the environment: when it carries an
         *     `environment` (or `env`) label, the request's environment name must equal it (case-insensitively),
         *     else 422 `ENVIRONMENT_MISMATCH`; without such a label the environment is unverified and no
         *     workflow's environment criteria (`environment_ids`, `environment_names`) match it.
         *     Refused with 404 for an unknown (or another org's) project,
         *     environment or secret, 409 `PROJECT_ARCHIVED` for an archived project, and 403 `USER_REQUIRED`
         *     for a credential no user stands behind.
         *
         *     Operation id: `createReadRequest`.
         */
        post: operations["createReadRequest"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/roles": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List roles
         * @description The built-in roles, then the org's custom roles oldest first.
         *
         *     Operation id: `listRoles`.
         */
        get: operations["listRoles"];
        put?: never;
        /**
         * Create a custom role
         * @description Creates a role from catalog permissions. Every permission must be in the catalog (422
         *     otherwise), of `org` scope, and held by the caller (403 names the ones you lack). Only an
         *     org owner creates a role carrying decision power or admin power over people
         *     (`request.approve`, `approval.decide`, `workflow.edit`, `user.edit`, `user_role.edit`,
         *     `role.edit`, `owner.grant`): anyone else gets 403 `GRANT_REQUIRES_OWNER`. Custom roles need
         *     the `custom_roles` plan feature (Starter and up). Creating a role whose name a live workflow
         *     lists in `approver_roles` (a decision role, say one deleted since) is owner-only too: 403
         *     `GRANT_REQUIRES_OWNER` naming the workflow.
         *
         *     Operation id: `createRole`.
         */
        post: operations["createRole"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/roles/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The role's id. */
                id: components["parameters"]["RoleIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a role
         * @description One built-in or custom role.
         *
         *     Operation id: `getRole`.
         */
        get: operations["getRole"];
        put?: never;
        post?: never;
        /**
         * Delete a custom role
         * @description Deletes the role and every assignment of it, at once. The caller must hold every permission
         *     of the role (403 `PRIVILEGE_ESCALATION`). Built-in roles cannot be deleted
         *     (409 `ROLE_BUILT_IN`), nor a role whose assignments give the org's last owner
         *     `owner.grant` (409 `LAST_OWNER`). Only an org owner deletes a decision role, one whose name a
         *     live workflow lists in `approver_roles` (or a pending access request waits on): 403
         *     `GRANT_REQUIRES_OWNER` naming the workflow, and nothing is deleted.
         *
         *     Operation id: `deleteRole`.
         */
        delete: operations["deleteRole"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/roles/{id}/permissions": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The role's id. */
                id: components["parameters"]["RoleIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Replace a role's permissions
         * @description Replaces the custom role's permissions, under the same rules as creating one: catalog
         *     permissions of org scope that the caller holds; the permissions it takes away must be the
         *     caller's too (403 `PRIVILEGE_ESCALATION`). Adding an owner-only permission (`request.approve`,
         *     `approval.decide`, `workflow.edit`, `user.edit`, `user_role.edit`, `role.edit`,
         *     `owner.grant`) that the role does not have yet needs an org owner (403
         *     `GRANT_REQUIRES_OWNER`); keeping or removing one does not. Built-in roles cannot change (409). Users
         *     holding the role, and the API keys they created, get the new set on their next request.
         *     Taking `owner.grant` away from the role when it is all that makes the org's last owner one
         *     is 409 `LAST_OWNER`. Only an org owner changes the permissions of a decision role, one whose
         *     name a live workflow lists in `approver_roles` (or a pending access request waits on), even to
         *     narrow them: 403 `GRANT_REQUIRES_OWNER` naming the workflow.
         *
         *     Operation id: `setRolePermissions`.
         */
        put: operations["setRolePermissions"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/secrets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List discovered secrets
         * @description The secrets the org's agents have reported, newest first, without values (Warden holds
         *     none). Filters combine with AND: `cluster_name`, `provider` and `status` match exactly,
         *     `ref_prefix` matches refs starting with it (literally: `%` and `_` are plain characters),
         *     and each `label=key:value` (repeatable, split at the first `:`) must be among the secret's
         *     labels.
         *
         *     Operation id: `listDiscoveredSecrets`.
         */
        get: operations["listDiscoveredSecrets"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/secrets/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The discovered secret's id (`sec_…`). */
                id: components["parameters"]["SecretIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a discovered secret
         * @description One discovered secret of the org (never its value); 404 `SECRET_NOT_FOUND` when unknown or another org's.
         *
         *     Operation id: `getDiscoveredSecret`.
         */
        get: operations["getDiscoveredSecret"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/state": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a redacted snapshot of the org's governance state
         * @description Seed 001's `GET /v1/state`: the org's agents with their budgets used today, its policies with
         *     their current versions, its vendors (without credentials), its gateway keys (prefix and last
         *     four only) and the approvals waiting for a human. Each list holds at most 1000 items;
         *     `truncated` says when one stopped there. A platform admin names any org with `org_id`; for
         *     anyone else `org_id` must be their own org (another org answers 404).
         *
         *     Operation id: `getStateSnapshot`.
         */
        get: operations["getStateSnapshot"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/support/csm": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Open a ticket with your customer success manager
         * @description The dedicated CSM workflow (Enterprise plan and up; feature `dedicated_csm`). Opens a ticket (`tkt_…`, channel `csm`, first answer
         *     due in 1 hour) and delivers it to the support team: a mail to `SUPPORT_EMAIL`, its subject marked `[csm]`.
         *
         *     The ticket is committed (with its audit event `support.ticket_created`) before anything is
         *     sent, so a failing mailbox or webhook never loses it; the answer waits for the delivery and
         *     carries its outcome in `delivery_status`. A failed delivery stays `failed` with its reason;
         *     retry it with `POST /api/v1/support/tickets/{id}/retry-delivery`. Counts against the `support` rate limit: 30 an hour per
         *     org and 60 per client IP (429 with `Retry-After`). Another org's `organization_id`, or a
         *     `workspace_id` not in the caller's org, answers 404.
         *
         *     Operation id: `createSupportRequestCsm`.
         */
        post: operations["createSupportRequestCsm"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/support/email": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Open an email support ticket
         * @description Email support (Starter plan and up; feature `email_support`). Opens a ticket (`tkt_…`, channel `email`, first answer
         *     due in 48 hours) and delivers it to the support team: a mail to `SUPPORT_EMAIL` through the configured SMTP server (`SMTP_URL`).
         *
         *     The ticket is committed (with its audit event `support.ticket_created`) before anything is
         *     sent, so a failing mailbox or webhook never loses it; the answer waits for the delivery and
         *     carries its outcome in `delivery_status`. A failed delivery stays `failed` with its reason;
         *     retry it with `POST /api/v1/support/tickets/{id}/retry-delivery`. Counts against the `support` rate limit: 30 an hour per
         *     org and 60 per client IP (429 with `Retry-After`). Another org's `organization_id`, or a
         *     `workspace_id` not in the caller's org, answers 404.
         *
         *     Operation id: `createSupportRequestEmail`.
         */
        post: operations["createSupportRequestEmail"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/support/priority": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Open a priority support ticket
         * @description Priority support (Professional plan and up; feature `priority_support`). Opens a ticket (`tkt_…`, channel `priority`, first answer
         *     due in 4 hours) and delivers it to the support team: a mail to `SUPPORT_EMAIL`, its subject marked `[priority]`.
         *
         *     The ticket is committed (with its audit event `support.ticket_created`) before anything is
         *     sent, so a failing mailbox or webhook never loses it; the answer waits for the delivery and
         *     carries its outcome in `delivery_status`. A failed delivery stays `failed` with its reason;
         *     retry it with `POST /api/v1/support/tickets/{id}/retry-delivery`. Counts against the `support` rate limit: 30 an hour per
         *     org and 60 per client IP (429 with `Retry-After`). Another org's `organization_id`, or a
         *     `workspace_id` not in the caller's org, answers 404.
         *
         *     Operation id: `createSupportRequestPriority`.
         */
        post: operations["createSupportRequestPriority"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/support/slack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Open a ticket in the Slack support channel
         * @description The Slack support channel (Professional plan and up; feature `slack_support`). Opens a ticket (`tkt_…`, channel `slack`, first answer
         *     due in 8 hours) and delivers it to the support team: a message to the Slack incoming webhook `SUPPORT_SLACK_WEBHOOK_URL` through Warden's outbound client (https; plain http only for hosts in `OUTBOUND_ALLOWED_HOSTS`; retried three times on 429, 5xx and network failures; Slack markup in the text is escaped).
         *
         *     The ticket is committed (with its audit event `support.ticket_created`) before anything is
         *     sent, so a failing mailbox or webhook never loses it; the answer waits for the delivery and
         *     carries its outcome in `delivery_status`. A failed delivery stays `failed` with its reason;
         *     retry it with `POST /api/v1/support/tickets/{id}/retry-delivery`. Counts against the `support` rate limit: 30 an hour per
         *     org and 60 per client IP (429 with `Retry-After`). Another org's `organization_id`, or a
         *     `workspace_id` not in the caller's org, answers 404.
         *
         *     Operation id: `createSupportRequestSlack`.
         */
        post: operations["createSupportRequestSlack"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/support/tickets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List support tickets
         * @description The caller's org's support tickets of every channel, newest first, with when each is due and how its delivery went.
         *
         *     Operation id: `listSupportTickets`.
         */
        get: operations["listSupportTickets"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/support/tickets/{id}/retry-delivery": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry a ticket's delivery
         * @description Sends a ticket whose delivery `failed` or was `not_configured` to the support team again,
         *     by its channel's route (mail to `SUPPORT_EMAIL`, or the Slack webhook), and answers with the
         *     new outcome; `delivery_attempts` counts every attempt so far. A ticket left `pending` for
         *     over 10 minutes (its delivery was cut short) may be retried too. One retry runs at a time:
         *     a ticket that was delivered, or whose delivery is under way, answers 409
         *     `SUPPORT_DELIVERY_NOT_RETRYABLE`. Each retry is an audit event `support.delivery_retried`
         *     (`success` when delivered, `failure` otherwise). Counts against the `support` rate limit.
         *
         *     Operation id: `retrySupportTicketDelivery`.
         */
        post: operations["retrySupportTicketDelivery"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/trust/headers": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Sign trust headers for an agent's request
         * @description Warden vouches for an outgoing request of an active agent whose key this org has proven
         *     (seed 000; unproven or stopped agents are 409): it returns headers
         *     that bind the agent's DID, the SHA-256 of the request body and a timestamp, signed with
         *     Warden's own Ed25519 key, so the receiving service can check them offline.
         *
         *     **How a receiver verifies** (with nothing but Warden's public key):
         *     1. Fetch `GET /.well-known/jwks.json` once and pick the key whose `kid` equals
         *        `X-Warden-Key-Id` (an OKP / Ed25519 JWK).
         *     2. Compute the lowercase hex SHA-256 of the request body it received; it must equal
         *        `X-Warden-Body-SHA256`.
         *     3. Build the UTF-8 bytes of the RFC 8785 canonical JSON of
         *        `{"agent": X-Warden-Agent, "body_sha256": X-Warden-Body-SHA256, "key_id": X-Warden-Key-Id, "timestamp": X-Warden-Timestamp}`
         *        (keys in that order, no whitespace).
         *     4. Verify `X-Warden-Signature` (base64url, 64 bytes) over those bytes with the key.
         *     5. Refuse a `X-Warden-Timestamp` older than `expires_at` allows (5 minutes), and keep the
         *        signatures seen in that window to refuse replays.
         *
         *     Every signing is an audit event, `trust.headers_signed` on the agent, with the headers as
         *     `after`. The service writes it (`x-audit-recorded-by: service`) after signing: Warden's
         *     key is read (on first use) on a connection of its own, which the embedded database cannot
         *     give inside an operation's transaction.
         *
         *     Operation id: `createTrustHeaders`.
         */
        post: operations["createTrustHeaders"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/trust/profile/{did}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's DID, `did:sekuire:<sekuire_id>`. */
                did: string;
            };
            cookie?: never;
        };
        /**
         * Get an agent's trust profile
         * @description What a relying party needs to decide whether to trust the agent (seed 000): identity, key
         *     and its fingerprint, status and revocation, installations (a lapsed lease shows as
         *     `stale`) and when it was last seen. `verified` is true only once this org has proven the
         *     key (`key_proven_at`); relying parties should not trust an unverified profile.
         *
         *     Operation id: `getTrustProfile`.
         */
        get: operations["getTrustProfile"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/trust/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Verify an agent's signature in context
         * @description Checks that `signature` was made by the agent's registered Ed25519 key, that this org has
         *     proven that key (`POST /agents/{id}/verify`), that the agent is active, and, when `context.workspace_id` is given, that it has a live installation there
         *     (seed 000). `valid` is true only when every check passes; `reasons` says what each found.
         *     A small-order key (stored before Warden refused them at registration) is `key_unproven`, and
         *     a signature on it, or one whose R is a small-order point, is `signature_invalid`.
         *
         *     **Signed bytes.** The agent signs the UTF-8 bytes of the RFC 8785 (JCS) canonical JSON of
         *     `{"context": <context, or {}>, "sekuire_id": "<sekuire_id>"}`: object keys sorted by code
         *     point, no whitespace, numbers in their shortest ECMAScript form. `signature` is the 64-byte
         *     Ed25519 signature in base64 or base64url. Example: for `context {"workspace_id": "ws_abc123"}`
         *     the bytes are `{"context":{"workspace_id":"ws_abc123"},"sekuire_id":"21fe…21b9"}`.
         *
         *     Operation id: `verifyTrust`.
         */
        post: operations["verifyTrust"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tx/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Transfer statistics of the org
         * @description Counts and volumes of the transfers the org made (as payer) created in [`from`, `to`) - by default the
         *     last 30 days - with the settled volume per currency in minor units, and the hires it made. `org_id` may be
         *     given and must be the caller's org (404 otherwise). `from` after `to`, or a period over 366 days, is 400.
         *
         *     Operation id: `getTxStats`.
         */
        get: operations["getTxStats"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/tx/transfer": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Transfer money from an agent's account
         * @description Seed 001's transfer, made by an **agent** with its own credential (its `sas_` agent secret, or a
         *     gateway key bound to it). The money leaves the agent's ledger account in `currency`.
         *
         *     Recipient: `to_agent_id` (an agent of the caller's org, or one listed on the registry network) or
         *     `to_address` (an outside destination, not on the `ledger` rail); exactly one, never the paying agent
         *     itself: otherwise 422 `TRANSFER_RECIPIENT_INVALID`. `amount` is a whole number of the currency's minor unit
         *     (422 for zero, negative or fractional amounts; 422 `UNKNOWN_CURRENCY` for a code Warden does not know).
         *
         *     Governed in USD only: the cost governance counts is derived from `amount` (cents / 100, exactly),
         *     never taken on the payer's word. `amount_usd` may be omitted; when sent it must equal that value, or
         *     422 `AMOUNT_USD_MISMATCH`. Warden has no exchange rates, so a transfer in any other currency is 422
         *     `CURRENCY_NOT_GOVERNABLE` (its US-dollar value could not be trusted), and a transfer above
         *     1,000,000 USD (100,000,000 cents) is 422 `VALIDATION_FAILED`.
         *
         *     Governance: the transfer is the action `tx.transfer`, its cost that US-dollar value, checked by the same
         *     evaluator as the gateway and `POST /decisions` (kill switch, the agent's policies, its daily budget,
         *     human approval), metered as a billing event. A denial is 403 `TRANSFER_DENIED` naming the reason. When
         *     a human must approve, the transfer is recorded `pending` (`approval_required`, 202) with its
         *     `approval_id`; once approved, repeat the same request with `approval_id`: that transfer settles (201), and
         *     the approval is used up. An approval still pending, denied, expired or for another transfer is 409
         *     `TRANSFER_NOT_APPROVED`.
         *
         *     Rails: `ledger` settles at once (201): the two entries are written and both balances change in one
         *     transaction, under row locks taken in a fixed order; a balance that would go below zero is 409
         *     `INSUFFICIENT_FUNDS` and nothing is written. Other rails are recorded `pending` with
         *     `rail_not_supported` (202) and move nothing.
         *
         *     `idempotency_key`: for 24 hours, repeating the request with the same key and the same body answers the
         *     same transfer again (not a second one); the same key with another body is 409 `IDEMPOTENCY_KEY_REUSED`.
         *     `shared_payment_token` is a secret: it is never stored, logged or audited.
         *
         *     Operation id: `createTransfer`.
         */
        post: operations["createTransfer"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user-roles": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List role assignments
         * @description The org's role assignments, newest first, optionally for one user or one role.
         *
         *     Operation id: `listUserRoles`.
         */
        get: operations["listUserRoles"];
        put?: never;
        /**
         * Assign a role to a user
         * @description Gives a user of the org a role on top of their built-in role. Nobody grants a role holding
         *     permissions they lack themselves (403 `PRIVILEGE_ESCALATION` names them), and only an org
         *     owner grants a role carrying decision power or admin power over people (`request.approve`,
         *     `approval.decide`, `workflow.edit`, `user.edit`, `user_role.edit`, `role.edit`, so the
         *     built-in `admin` role too): 403 `GRANT_REQUIRES_OWNER` otherwise, so an admin cannot make a
         *     second user an approver of their own requests. Nor does anyone but an owner assign a decision
         *     role, one whose name a live workflow lists in `approver_roles` (or a pending access request
         *     waits on), whatever its permissions: 403 `GRANT_REQUIRES_OWNER` naming the workflow.
         *     Assigning a role the user already has is 409.
         *
         *     Operation id: `assignUserRole`.
         */
        post: operations["assignUserRole"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/user-roles/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The assignment's id. */
                id: components["parameters"]["UserRoleIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Remove a role assignment
         * @description Takes the role away from the user; their next request no longer has its permissions, nor do
         *     the API keys they created. The caller must hold every permission of the role (403
         *     `PRIVILEGE_ESCALATION`), as to grant it. Taking `owner.grant` from the org's last owner (no
         *     other owner user, no first-start owner key left) is 409 `LAST_OWNER`. Only an org owner
         *     removes a decision role, one whose name a live workflow lists in `approver_roles` (or a
         *     pending access request waits on): 403 `GRANT_REQUIRES_OWNER` naming the workflow.
         *
         *     Operation id: `removeUserRole`.
         */
        delete: operations["removeUserRole"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List users
         * @description The users of the caller's org, newest first. A platform admin lists any org's users with
         *     `org_id`; for anyone else `org_id` must be their own org (another org answers 404).
         *
         *     Operation id: `listUsers`.
         */
        get: operations["listUsers"];
        put?: never;
        /**
         * Create a user
         * @description Adds a user with a password to the caller's org (a platform admin names `org_id`).
         *     `role` is a built-in role, `member` by default; nobody can create a user holding
         *     permissions they lack themselves (403 `PRIVILEGE_ESCALATION`), and only an owner creates
         *     owners and admins (403 `GRANT_REQUIRES_OWNER`: the admin role decides requests and manages
         *     users and roles). The caller (the user behind the login or API key) is recorded as the new
         *     user's `created_by`, and never decides that user's access requests (403
         *     `CREATOR_DECISION_FORBIDDEN`). Passwords are stored as
         *     scrypt hashes (N=2^14, r=8, p=5) and never returned. Counts against the plan's user quota.
         *
         *     Operation id: `createUser`.
         */
        post: operations["createUser"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users/{user_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's id. */
                user_id: components["parameters"]["UserIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a user
         * @description Deletes the user with their sessions and role assignments, and revokes the API keys they
         *     created: the next request with any of them is 401. The caller must hold every permission the
         *     user holds, through any role (403 `PRIVILEGE_ESCALATION` naming the others: an admin cannot
         *     delete an owner, a key holding only `user.edit` cannot delete an admin), and the org's last
         *     owner cannot be deleted (409 `LAST_OWNER`: make another owner first).
         *
         *     Operation id: `deleteUser`.
         */
        delete: operations["deleteUser"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/users/{user_id}/roles": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's id. */
                user_id: components["parameters"]["UserIdPath"];
            };
            cookie?: never;
        };
        /**
         * List a user's roles
         * @description The user's built-in role first, then the roles assigned to them, with their permissions.
         *
         *     Operation id: `listRolesOfUser`.
         */
        get: operations["listRolesOfUser"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/vendors": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List vendors
         * @description The org's vendors, newest first (deleted ones are gone). Credentials are never listed, only their last four characters.
         *
         *     Operation id: `listVendors`.
         */
        get: operations["listVendors"];
        put?: never;
        /**
         * Create a vendor
         * @description Registers an upstream API (seed 001) that the org's agents call through Warden with gateway
         *     keys, so they never hold its credential. `api_key` is encrypted at rest and never returned.
         *     `base_url` must be an https URL (plain http only for hosts in `OUTBOUND_ALLOWED_HOSTS`)
         *     without query, fragment or credentials whose host resolves to public addresses only:
         *     otherwise 422 `VENDOR_URL_REFUSED` with the reason. `header_name` names the header
         *     (`auth_type: header`, required, an HTTP token that is not hop-by-hop, `Host` or a framing
         *     header) or the query parameter (`auth_type: query`, default `api_key`); it is refused with
         *     `bearer` and `basic`. With `basic` the `api_key` is `user:password`. `org_id` may be
         *     given and must be the caller's org. 503 `ENCRYPTION_KEY_MISSING` when this Warden has no
         *     key-encryption key (`WARDEN_ENCRYPTION_KEY` on a real Postgres).
         *
         *     Operation id: `createVendor`.
         */
        post: operations["createVendor"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/vendors/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The vendor's id (`vnd_…`). */
                id: components["parameters"]["VendorIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a vendor
         * @description One vendor of the org, without its credential.
         *
         *     Operation id: `getVendor`.
         */
        get: operations["getVendor"];
        put?: never;
        post?: never;
        /**
         * Delete a vendor
         * @description Deletes the vendor and erases its encrypted credential. From the moment this returns, every
         *     gateway key for it is refused (403 `GATEWAY_KEY_VENDOR_DELETED`); they stay listed.
         *
         *     Operation id: `deleteVendor`.
         */
        delete: operations["deleteVendor"];
        options?: never;
        head?: never;
        /**
         * Change a vendor
         * @description Changes the fields given; the others keep their values. The credential changes only through
         *     rotate-credential. A new `base_url` is checked as at creation (422 `VENDOR_URL_REFUSED`);
         *     `auth_type` and `header_name` must fit together after the change.
         *
         *     Operation id: `updateVendor`.
         */
        patch: operations["updateVendor"];
        trace?: never;
    };
    "/api/v1/vendors/{id}/rotate-credential": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The vendor's id (`vnd_…`). */
                id: components["parameters"]["VendorIdPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Rotate a vendor's credential
         * @description Replaces the vendor's `api_key` (encrypted at rest, never returned); the next forwarded call
         *     uses the new one. Gateway keys are unaffected. 503 `ENCRYPTION_KEY_MISSING` without a key-encryption key.
         *
         *     Operation id: `rotateVendorCredential`.
         */
        post: operations["rotateVendorCredential"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workflows": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List workflows
         * @description The org's live workflows at their current versions, newest first.
         *
         *     Operation id: `listWorkflows`.
         */
        get: operations["listWorkflows"];
        put?: never;
        /**
         * Create a workflow
         * @description Creates an approval workflow at version 1. When an access request is made, the live workflow
         *     whose `match` fits it with the highest `priority` (on a tie, the oldest) decides how many
         *     approvals it needs and from which roles; no workflow fitting means one approval from anyone
         *     holding `request.approve`. Names are unique among the org's live workflows,
         *     case-insensitively (409 `WORKFLOW_NAME_TAKEN`).
         *     Workflows are owner-governed: `workflow.edit` is held by the built-in owner role (not admin),
         *     or by a custom role only an owner can grant, because a workflow can auto-approve and an
         *     admin who wrote one for their own request would approve it alone.
         *
         *     Operation id: `createWorkflow`.
         */
        post: operations["createWorkflow"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workflows/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workflow's `wf_` id. A workflow of another org answers 404. */
                id: components["parameters"]["WorkflowIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a workflow
         * @description The workflow at its current version, or with `version` as it read at that version (the one
         *     an access request records); a given version stays readable after the workflow is deleted.
         *
         *     Operation id: `getWorkflow`.
         */
        get: operations["getWorkflow"];
        /**
         * Replace a workflow
         * @description Replaces the whole workflow (omitted fields take their defaults) as its next version; earlier
         *     versions never change, and requests already judged keep the version they recorded.
         *     Like creating one, it needs `workflow.edit`, which only owners hold among the built-in roles.
         *
         *     Operation id: `updateWorkflow`.
         */
        put: operations["updateWorkflow"];
        post?: never;
        /**
         * Delete a workflow
         * @description The workflow stops judging new requests at once; its versions stay readable (`?version=`)
         *     for the requests that recorded them.
         *     Owners (not admins) hold `workflow.edit`: deleting a strict workflow would loosen approvals too.
         *
         *     Operation id: `deleteWorkflow`.
         */
        delete: operations["deleteWorkflow"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workspaces/{id}/policy": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
            };
            cookie?: never;
        };
        /**
         * Get a workspace's effective policy
         * @description Seed 000: the policies the workspace names, at their current versions, in evaluation order,
         *     and what they add up to. An agent in the workspace is governed by its own policies, then
         *     these (the same policy counts once). A workspace naming no policy leaves its agents to
         *     their own; an agent with no policy at all is denied every call (`no_policy`).
         *
         *     Operation id: `getWorkspacePolicy`.
         */
        get: operations["getWorkspacePolicy"];
        /**
         * Set a workspace's policies
         * @description Replaces the list of policies the workspace names (an empty list names none). Every id must
         *     be a live policy of the org (422 `UNKNOWN_POLICY` naming the others). Agents in the
         *     workspace inherit them from their next call. Answers the new effective policy.
         *
         *     Operation id: `setWorkspacePolicies`.
         */
        put: operations["setWorkspacePolicies"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workspaces/{workspace_id}/environments": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        /**
         * List a workspace's environments
         * @description The workspace's environments, oldest first.
         *
         *     Operation id: `listEnvironments`.
         */
        get: operations["listEnvironments"];
        put?: never;
        /**
         * Create an environment
         * @description Adds a named environment to the workspace. Names are unique in a workspace (case-insensitive; 409).
         *
         *     Operation id: `createEnvironment`.
         */
        post: operations["createEnvironment"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workspaces/{workspace_id}/environments/{environment_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The environment's id. */
                environment_id: string;
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete an environment
         * @description Deletes the environment.
         *
         *     Operation id: `deleteEnvironment`.
         */
        delete: operations["deleteEnvironment"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/workspaces/{workspace_id}/install-tokens": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Create an install token
         * @description A single-use `skt_…` token that lets one deployment of the agent bootstrap into this
         *     workspace (seed 000), valid `expiry_minutes` (1–1440, 15 by default). Shown once; stored as
         *     a SHA-256 digest. A disabled or revoked agent gets none (409).
         *
         *     Operation id: `createInstallToken`.
         */
        post: operations["createInstallToken"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/docs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The API reference portal
         * @description This reference as a self-contained HTML page, built from the same document with Redocly.
         *     It loads nothing from other hosts.
         *
         *     Operation id: `getDocs`.
         */
        get: operations["getDocs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/favicon.ico": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The docs portal's icon
         * @description A 16×16 icon built into Warden, so the docs portal (and a browser's tab) shows one without
         *     fetching anything from another host.
         *
         *     Operation id: `getFavicon`.
         */
        get: operations["getFavicon"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness probe
         * @description Answers 200 while the process serves requests, whatever the state of its dependencies.
         *     Point a liveness probe here; point a readiness probe at `/readyz`.
         *
         *     Operation id: `getHealth`.
         */
        get: operations["getHealth"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics
         * @description Prometheus text exposition: `warden_http_requests_total` and
         *     `warden_http_request_duration_seconds` by `operation_id`, `method` and `status`
         *     (unmatched routes count as `operation_id="unmatched"`), database pool gauges
         *     (`warden_db_pool_connections`, by `state`), and the process's own metrics
         *     (`process_*`, `nodejs_*`).
         *
         *     Operation id: `getMetrics`.
         */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The API contract as JSON
         * @description This document, bundled into one OpenAPI 3.0.3 JSON file. Generate clients from it.
         *
         *     Operation id: `getOpenApiJson`.
         */
        get: operations["getOpenApiJson"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.yaml": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The API contract as YAML
         * @description The same bundled OpenAPI 3.0.3 document as `/openapi.json`, in YAML.
         *
         *     Operation id: `getOpenApiYaml`.
         */
        get: operations["getOpenApiYaml"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readiness probe
         * @description Answers 200 when the database answers and every migration this build knows is applied;
         *     503 otherwise, with the outcome of each check so an operator sees which one failed.
         *     Each check has a short time limit, so the probe answers even while the database hangs.
         *
         *     Operation id: `getReadiness`.
         */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /**
         * @description A person's request to read a secret's value (`kind: read`) or to change it (`kind: patch`),
         *     decided by approvers under the workflow that matched it, and carried out by an agent through
         *     a job.
         *
         *     `status`: `pending` (collecting approvals until `expires_at`), `approved` (a job is queued for
         *     an agent serving the secret's cluster), `running` (an agent holds the job), `completed` or
         *     `failed` (the job ended), `rejected` (an approver said no), `cancelled` (the requester
         *     withdrew it) or `expired` (still pending at `expires_at`). `pending` moves to `approved`,
         *     `rejected`, `cancelled` or `expired`; `approved` to `running` (or `cancelled` while no agent
         *     holds it); `running` to `completed` or `failed`. Every other transition answers 409.
         *     A request never carries a secret's value: a patch's new value is held as a wrap.
         */
        AccessRequest: {
            approvals: components["schemas"]["AccessRequestApproval"][];
            /** @description Roles one of which each approver must hold; empty when anyone holding `request.approve` may approve. */
            approver_roles: string[];
            /** Format: date-time */
            completed_at: string | null;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            decided_at: string | null;
            /** @description Who rejected or cancelled it. */
            decided_by: string | null;
            /** @description The reason given for a rejection. */
            decision_reason: string | null;
            environment_id: string;
            environment_name: string;
            /**
             * Format: date-time
             * @description Until when approvals are collected and a value may be retrieved.
             */
            expires_at: string;
            id: string;
            /** @description The job carrying it out, once approved. */
            job_id: string | null;
            justification: string;
            /** @enum {string} */
            kind: "read" | "patch";
            org_id: string;
            project_id: string;
            project_name: string;
            requester_id: string;
            /**
             * Format: int32
             * @description Approvals needed; 0 when the workflow auto-approves.
             */
            required_approvals: number;
            /** @description Where the secret lives, as its agent reported it (never its value). */
            secret: {
                cluster_name: string;
                provider: string;
                ref: string;
            };
            /** @description The discovered secret the request names. */
            secret_id: string;
            /** @enum {string} */
            status: "pending" | "approved" | "rejected" | "cancelled" | "expired" | "running" | "completed" | "failed";
            /** Format: date-time */
            updated_at: string;
            /** @description The workflow the request was judged under; null when none matched. */
            workflow_id: string | null;
            /** Format: int32 */
            workflow_version: number | null;
        };
        /** @description One approver's decision on an access request. Each approver decides a request at most once. */
        AccessRequestApproval: {
            /** @description The user who decided. */
            approver_id: string;
            /** @description The approver's comment, or the reason given for a rejection. */
            comment: string | null;
            /** Format: date-time */
            created_at: string;
            /** @enum {string} */
            decision: "approved" | "rejected";
            id: string;
        };
        /**
         * @description An action, or a pattern of actions: printable ASCII words separated by single spaces (so the
         *     gateway's default action `METHOD /path` can be named). `*` matches any run of characters,
         *     including none (`chat.*`, `GET /v1/*`, `*`); every other character matches itself, ignoring
         *     case. There is no other syntax: no `?`, classes or escapes.
         */
        ActionPattern: string;
        /**
         * @description An agent identity. Registered agents (seed 000) carry a self-certifying `sekuire_id`: the
         *     lowercase hex SHA-256 of their 32-byte Ed25519 `public_key`, also written `did:sekuire:<sekuire_id>`.
         *     Minted agents (seeds 001/002) get an `sas_…` secret instead. Credentials are never listed.
         */
        Agent: {
            /** Format: date-time */
            created_at: string;
            daily_budget: number | null;
            did: string | null;
            disabled_reason: string | null;
            /** Format: date-time */
            disabled_until: string | null;
            id: string;
            /**
             * Format: date-time
             * @description When the org proved it holds `public_key`'s private key; null while unproven (Warden vouches only for proven keys) and for minted agents.
             */
            key_proven_at: string | null;
            /** Format: date-time */
            last_seen_at: string | null;
            manifest_hash: string | null;
            name: string;
            org_id: string;
            policy_ids: string[];
            /** @description Base64 Ed25519 identity key (registered agents). */
            public_key: string | null;
            /** Format: date-time */
            revoked_at: string | null;
            sekuire_id: string | null;
            /**
             * @description `disabled` by the kill switch (until enabled, or `disabled_until`); `revoked` is permanent.
             * @enum {string}
             */
            status: "active" | "disabled" | "revoked";
            version: string | null;
            /** @description Base64 X25519 key the agent set for wire envelopes. */
            wire_public_key: string | null;
            workspace_id: string | null;
        };
        /**
         * @description Proof that the caller holds the agent's Ed25519 private key: `signature` is the key's Ed25519
         *     signature over the UTF-8 bytes of the RFC 8785 canonical JSON of
         *     `{"org_id", "purpose": "warden.agent_key_proof", "sekuire_id", "timestamp"}`, with the caller's
         *     org id and this `timestamp`, which must be within 5 minutes of Warden's clock.
         */
        AgentKeyProof: {
            /** @description The 64-byte Ed25519 signature in base64 or base64url. */
            signature: string;
            /**
             * Format: date-time
             * @description When the agent signed (RFC 3339).
             */
            timestamp: string;
        };
        /** @description A newly minted agent with its secret, shown this once. */
        AgentWithSecret: components["schemas"]["Agent"] & {
            /** @description The agent's credential for its own routes, sent as `X-Agent-Secret`. Stored only as a SHA-256 digest. */
            agent_secret: string;
        };
        /** @description An API key as listed. The secret itself is shown once, when the key is created or rolled; afterwards only its prefix and last four characters. */
        ApiKey: {
            /** Format: date-time */
            created_at: string;
            /** @description The user who created the key; null for the key made at first start. */
            created_by: string | null;
            description: string;
            /** Format: date-time */
            expires_at: string;
            id: string;
            last_four: string;
            /** Format: date-time */
            last_used_at: string | null;
            /**
             * @description `live` keys start `sk_live_`, `test` keys `sk_test_`.
             * @enum {string}
             */
            mode: "live" | "test";
            name: string;
            org_id: string;
            permissions: string[];
            /** @description The first 12 characters of the secret, e.g. `sk_live_3kTq`. */
            prefix: string;
            /**
             * Format: int32
             * @description The key's own request budget per minute; null means the server's default (`API_KEY_RATE_LIMIT_PER_MINUTE`, 1200 unless configured).
             */
            rate_limit_per_minute?: number | null;
            /** Format: date-time */
            revoked_at: string | null;
        };
        /** @description A device an API key is bound to. Once a key has one, every request with it must name one of its devices in `X-Warden-Device`. */
        ApiKeyDevice: {
            api_key_id: string;
            /** Format: date-time */
            created_at: string;
            /** @description SHA-256 (lowercase hex) of the device's stable machine facts, computed by the client; never the facts themselves. */
            fingerprint: string;
            id: string;
            /**
             * Format: date-time
             * @description The last request made with the key from this device, to within a minute; null before the first.
             */
            last_seen_at: string | null;
            /** @description The device's name as the client reported it, e.g. its host name. */
            name: string;
            /** @description The operating system as the client reported it, e.g. `linux`, `macos`. */
            os: string;
        };
        /** @description A newly created or rolled API key, with its secret. The secret is never shown again. */
        ApiKeyWithSecret: components["schemas"]["ApiKey"] & {
            /** @description The secret. Send it as `X-API-Key` or `Authorization: Bearer`. Its last six characters are a CRC32 checksum of the rest, so scanners can tell a real key offline. */
            key: string;
        };
        /**
         * @description A human approval an agent's governed call waits for (seed 001). Warden opens one when policy
         *     says a call needs approval; a person (or an API key) with `approval.decide` approves or denies
         *     it; the agent then repeats the call naming the approval, which it may use once.
         *
         *     `status`: `pending` (waiting for a decision), `approved` (may be used once, by the same agent,
         *     for the same method and path, at most `cost_usd`), `denied`, `expired` (not decided, or not
         *     used, before `expires_at`) or `used` (an approved call went through). A pending or approved
         *     approval past `expires_at` reads as `expired` everywhere. Approving resets `expires_at` to
         *     `APPROVAL_TTL_MINUTES` from the decision: the window in which the agent may use it.
         */
        Approval: {
            /** @description The action the agent declared for the call. */
            action: string;
            agent_id: string;
            /** @description The declared cost of the call in USD; an approved call may cost at most this. */
            cost_usd: number;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            decided_at: string | null;
            /** @description The user (`usr_`) or API key (`key_`) that decided. */
            decided_by: string | null;
            /** Format: date-time */
            expires_at: string;
            id: string;
            /** @description The id of the gateway key the call came through, if any. */
            key: string | null;
            /** @description The HTTP method of the call, upper-case. */
            method: string;
            org_id: string;
            /** @description The path of the call at the vendor. */
            path: string;
            /** @description The policy that asked for approval. */
            policy_id: string | null;
            /**
             * Format: int32
             * @description The version of that policy.
             */
            policy_version: number | null;
            /** @description Why it was denied, as the person who denied it wrote. */
            reason: string | null;
            /** @enum {string} */
            status: "pending" | "approved" | "denied" | "expired" | "used";
            /** Format: date-time */
            used_at: string | null;
        };
        /**
         * @description Where Warden sends word of a new approval besides email (every user holding `approval.decide`
         *     gets one): a Slack incoming webhook and a generic webhook. The Slack URL is a credential, so
         *     only its origin is shown. Generic webhook deliveries are signed: each carries
         *     `Warden-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Verify
         *     by recomputing the HMAC over the timestamp, a dot and the raw body with your `secret`,
         *     comparing in constant time, and refusing timestamps older than a few minutes (replays).
         */
        ApprovalSettings: {
            org_id: string;
            /** @description The generic webhook's signing secret, only in the answer that set `webhook_url` (shown once); null otherwise. */
            secret: string | null;
            /** @description The Slack webhook's origin followed by `/…`; null when none is set. */
            slack_webhook_url: string | null;
            /** Format: date-time */
            updated_at: string | null;
            /**
             * Format: int32
             * @description Bumped each time `webhook_url` is set; each version has its own signing secret.
             */
            webhook_secret_version: number;
            /** @description The generic webhook, its query string (which may carry a token) shown as `?…`; null when none is set. */
            webhook_url: string | null;
        };
        /**
         * @description One Argo CD application as Argo CD's `GET /api/v1/applications` reports it: `metadata.name`,
         *     `metadata.namespace`, `spec.project`, `spec.destination`, `status.sync`, `status.health` and
         *     `status.operationState`. Statuses are Argo CD's own words (sync `Synced`, `OutOfSync`, `Unknown`;
         *     health `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing`, `Unknown`); null where Argo
         *     CD reported none.
         */
        ArgocdApplication: {
            destination: {
                name: string | null;
                namespace: string | null;
                server: string | null;
            };
            health_status: string | null;
            /** @description Whether a GitOps application mapping of this org names the application on this endpoint. */
            mapped: boolean;
            name: string;
            /** @description The namespace the Application resource lives in (usually `argocd`). */
            namespace: string | null;
            /** @description When the last sync operation finished (as Argo CD wrote it). */
            operation_finished_at: string | null;
            /** @description The phase of the last sync operation (`Running`, `Succeeded`, `Failed`, `Error`, `Terminating`). */
            operation_phase: string | null;
            project: string | null;
            /** @description When Argo CD last compared the application with its source. */
            reconciled_at: string | null;
            /** @description The revision Argo CD compared against (`status.sync.revision`). */
            revision: string | null;
            sync_status: string | null;
        };
        /**
         * @description An Argo CD API server Warden asks which applications are in sync. Its API token is encrypted at
         *     rest (AES-256-GCM under the org's data key) and never returned, logged or audited; at most its
         *     last four characters are shown.
         */
        ArgocdEndpoint: {
            /** @description The Argo CD server, e.g. `https://argocd.example.com`; Warden calls `{base_url}/api/v1/applications`. */
            base_url: string;
            /** Format: date-time */
            created_at: string;
            /** @description Whether Warden calls it: a disabled endpoint lists no applications and records no observations. */
            enabled: boolean;
            id: string;
            name: string;
            org_id: string;
            /** @description The token's last four characters; null when it is shorter than 16 characters. */
            token_last_four: string | null;
            /** Format: date-time */
            updated_at: string;
        };
        /**
         * @description Whose audit chain: an org id, or `platform` for the chain of events that belong to no org
         *     (failed logins for unknown emails, platform-admin actions). Only a platform admin session may
         *     name another org or `platform`; an org credential naming `platform` gets 403
         *     `PLATFORM_ADMIN_REQUIRED`.
         * @example org_01jd4v3k8m2q6r9t1w5y7z0abc
         */
        AuditChainId: string;
        /**
         * @description One entry of an org's tamper-evident audit chain. `hash` is the lowercase hex SHA-256 of the
         *     32 bytes of `prev_hash` (32 zero bytes for the first event) followed by the UTF-8 bytes of the
         *     RFC 8785 canonical JSON of this object without `hash` and `prev_hash`; `seq` counts from 1
         *     with no gaps, so an export can be re-verified offline.
         */
        AuditEvent: {
            /** @example workspace.updated */
            action: string;
            actor_id: string | null;
            /** @enum {string} */
            actor_type: "user" | "api_key" | "admin_session" | "agent" | "installation" | "anonymous" | "system";
            /**
             * @description What happened, by kind of event. For an operation's event: `operation_id`, `status`,
             *     `after` (the operation's answer) and, for operations that overwrite state (rename, plan,
             *     role permissions, member role, kill switch, retention), `before` (the changed fields as they
             *     were; `null` when nothing existed). Secrets are never kept: fields such as `key`, `token`,
             *     `secret` and any Warden credential or JWT value read `[REDACTED]`.
             */
            details: {
                [key: string]: unknown;
            };
            hash: string;
            id: string;
            ip: string | null;
            /** Format: date-time */
            occurred_at: string;
            /** @description The org whose chain holds the event; `platform` for events of no org. */
            org_id: string;
            /** @enum {string} */
            outcome: "success" | "failure" | "denied";
            prev_hash: string;
            /** @description Quote it to find the request in the logs (correlation id). */
            request_id: string | null;
            resource_id: string | null;
            resource_type: string;
            /** Format: int64 */
            seq: number;
            user_agent: string | null;
            workspace_id: string | null;
        };
        /**
         * @description One metered call (seed 001): a gateway call or a decision, allowed or denied. Amounts are US
         *     dollars, exact to the micro-dollar. `authorized_cost_usd` is what was reserved against the
         *     agent's daily budget (the cost the agent declared); `cost_usd` is the cost counted, which the
         *     vendor may report itself (`metering_source: vendor`).
         */
        BillingEvent: {
            /** @description What the agent did: its X-Warden-Action, or METHOD /path. */
            action: string;
            agent_id: string;
            allow: boolean;
            authorized_cost_usd: number;
            cost_usd: number;
            /** @description Why the call was denied (snake_case), or null when allowed. */
            deny_reason: string | null;
            fee_usd: number;
            id: string;
            /** @description Id of the gateway key the call came with; null for a decision asked with the agent's own secret. */
            key: string | null;
            /** @enum {string} */
            metering_source: "declared" | "vendor";
            org_id: string;
            policy_id: string | null;
            /** Format: int32 */
            policy_version: number | null;
            /** @description The request that made the call; quote it to find it in the logs. */
            request_id: string;
            /**
             * Format: int32
             * @description The HTTP status the agent got.
             */
            status_code: number;
            /** Format: date-time */
            timestamp: string;
        };
        /**
         * @description An org's billing settings (seed 001). Fee settings left unset fall back to the operator's
         *     configured defaults (`BILLING_FEE_MODE`, `BILLING_TAKE_RATE_BPS`, `BILLING_FEE_PER_ACTION_USD`);
         *     this resource shows the values in force.
         */
        BillingSettings: {
            /** Format: email */
            billing_email: string | null;
            collection_method: components["schemas"]["CollectionMethod"];
            /**
             * @description The invoices' currency (fees are metered in US dollars).
             * @enum {string}
             */
            currency: "usd";
            /**
             * Format: int32
             * @description Days a `send_invoice` invoice gives to pay.
             */
            days_until_due: number;
            fee_mode: components["schemas"]["FeeMode"];
            fee_per_action_usd: number;
            /** @description Added to every invoice as its own line. */
            monthly_retainer_usd: number;
            /** @example org_01jd4v3k8m2q6r9t1w5y7z0abc */
            org_id: string;
            stripe_customer_id: string | null;
            /** @description Whether invoices may be created in Stripe for this org. */
            stripe_enabled: boolean;
            /** Format: int32 */
            take_rate_bps: number;
            /**
             * Format: date-time
             * @description Null while the org has only the defaults.
             */
            updated_at: string | null;
        };
        /**
         * @description Usage of an org (or one of its agents) over `[from, to)` (seed 001), summed by the database.
         *     `total_cost_usd` counts allowed calls only (a denied call reached no vendor); `total_fee_usd`
         *     is the fees the events carry. The fee settings are the org's current ones.
         */
        BillingSummary: {
            /** @description The agent summed, or null for the whole org. */
            agent_id: string | null;
            /** Format: int64 */
            allowed_events: number;
            /** Format: int64 */
            denied_events: number;
            fee_mode: components["schemas"]["FeeMode"];
            fee_per_action_usd: number;
            /**
             * Format: date-time
             * @description Start of the range (inclusive).
             */
            from: string;
            org_id: string;
            /** Format: int32 */
            take_rate_bps: number;
            /**
             * Format: date-time
             * @description End of the range (exclusive).
             */
            to: string;
            total_cost_usd: number;
            /** Format: int64 */
            total_events: number;
            total_fee_usd: number;
        };
        /**
         * @description Runtime credentials of an installation, with its refresh token. An idempotent repeat of a
         *     bootstrap (same install token within 60 s) returns the very same credentials.
         */
        BootstrapResult: {
            /**
             * Format: date-time
             * @description When the runtime token expires (90 days).
             */
            expires_at: string;
            /**
             * Format: int32
             * @description Seconds between leases.
             */
            heartbeat_interval: number;
            installation_id: string;
            refresh_token?: string;
            runtime_token: string;
        };
        /**
         * @description A built-in role. Owners hold every org permission; admins all but `owner.grant` and `workflow.edit` (only an owner makes another owner or writes the approval workflows); members read and work in workspaces; viewers only read.
         * @enum {string}
         */
        BuiltInRoleName: "owner" | "admin" | "member" | "viewer";
        /** @description The verdict of walking one org's audit chain. */
        ChainVerification: {
            /** @description Where verification started, when a retention purge cut the chain; its signature has been checked. */
            checkpoint: {
                /** Format: date-time */
                cut_at: string;
                hash: string;
                key_id: string;
                /** Format: int64 */
                seq: number;
            } | null;
            /** Format: int64 */
            events_checked: number;
            /** Format: int64 */
            first_broken_seq: number | null;
            /**
             * Format: int64
             * @description The last seq the chain recorded.
             */
            head_seq: number;
            org_id: string;
            /** @enum {string|null} */
            reason: "edited" | "deleted" | "reordered" | null;
            valid: boolean;
        };
        /**
         * @description How Stripe collects an invoice (Stripe's `collection_method`).
         * @enum {string}
         */
        CollectionMethod: "charge_automatically" | "send_invoice";
        /**
         * @description `soc2`: AICPA SOC 2 Trust Services Criteria (2017, common criteria); `hipaa`: the HIPAA Security Rule technical and administrative safeguards (45 CFR 164.308, 164.312).
         * @enum {string}
         */
        ComplianceFramework: "soc2" | "hipaa";
        /**
         * @description Evidence about one agent in one workspace, gathered at `generated_at`, and what it says about
         *     each control of the requested frameworks. A control is `satisfied` when the evidence shows it
         *     working, `attention` when the evidence shows a gap someone should look at, and
         *     `not_applicable` when the agent has nothing the control covers.
         */
        ComplianceReport: {
            agent: {
                /** Format: date-time */
                created_at: string;
                did: string | null;
                disabled_reason: string | null;
                /** Format: date-time */
                disabled_until: string | null;
                id: string;
                /**
                 * @description How the agent proves who it is: its own Ed25519 key (`sekuire_id` = SHA-256 of it), or a Warden-issued `sas_` secret.
                 * @enum {string}
                 */
                identity: "registered_key" | "minted_secret";
                name: string;
                public_key_fingerprint: string | null;
                /** Format: date-time */
                revoked_at: string | null;
                sekuire_id: string | null;
                /** @enum {string} */
                status: "active" | "disabled" | "revoked";
                version: string | null;
            };
            audit: {
                /** @description Event count per action. */
                by_action: {
                    [key: string]: number;
                };
                chain: components["schemas"]["ChainVerification"];
                /**
                 * Format: int64
                 * @description Audit events about the agent or its installations in the workspace (kept under the org's retention).
                 */
                events: number;
                /** Format: date-time */
                first_at: string | null;
                /** Format: date-time */
                last_at: string | null;
                /** @description The 20 newest of those events. */
                recent: components["schemas"]["AuditEvent"][];
            };
            controls: {
                /** @example CC6.1 */
                control: string;
                evidence: string[];
                framework: components["schemas"]["ComplianceFramework"];
                /** @enum {string} */
                status: "satisfied" | "attention" | "not_applicable";
                title: string;
            }[];
            credentials: {
                /** @description Whether a `sas_` secret exists (it is stored only as a SHA-256 digest). */
                agent_secret_issued: boolean;
                install_tokens: {
                    /** Format: int32 */
                    expired_unused: number;
                    /** Format: int32 */
                    issued: number;
                    /**
                     * Format: int32
                     * @description Unused and not yet expired.
                     */
                    outstanding: number;
                    /** Format: int32 */
                    used: number;
                };
                refresh: {
                    /** Format: date-time */
                    last_rotated_at: string | null;
                    /**
                     * Format: int32
                     * @description Times a retired refresh token was presented (each revoked that installation's tokens).
                     */
                    reuse_detected: number;
                    /**
                     * Format: int32
                     * @description Refreshes and recoveries across the agent's installations in this workspace.
                     */
                    rotations: number;
                };
                runtime_tokens: {
                    /**
                     * Format: int32
                     * @description Runtime tokens of live installations that are unexpired and of the installation's current token version.
                     */
                    active: number;
                    /** Format: int32 */
                    expiring_within_7_days: number;
                };
            };
            frameworks: components["schemas"]["ComplianceFramework"][];
            /** Format: date-time */
            generated_at: string;
            /** @description The agent's installations in the workspace, newest first (at most 200). */
            installations: {
                /** Format: date-time */
                created_at: string;
                id: string;
                /** Format: date-time */
                last_lease_at: string | null;
                /** Format: date-time */
                last_refreshed_at: string | null;
                /** Format: date-time */
                lease_expires_at: string | null;
                revoke_reason: string | null;
                /** Format: date-time */
                revoked_at: string | null;
                /**
                 * @description `pending` never leased, `active` lease current, `stale` lease lapsed.
                 * @enum {string}
                 */
                status: "pending" | "active" | "stale" | "revoked";
                /** Format: int32 */
                token_version: number;
            }[];
            organization_id: string;
            /** @description Every stop applied to the agent or its installations in the workspace. */
            revocations: {
                /** Format: date-time */
                at: string | null;
                id: string;
                /** @enum {string} */
                kind: "agent_revoked" | "agent_disabled" | "installation_revoked";
                reason: string | null;
            }[];
            summary: {
                /** Format: int32 */
                attention: number;
                /** Format: int32 */
                not_applicable: number;
                /** Format: int32 */
                satisfied: number;
            };
            workspace_id: string;
        };
        /**
         * @description An ISO 4217 currency code Warden knows (amounts are integers in its minor unit, e.g. cents for `USD`, yen for `JPY`); another code is 422 `UNKNOWN_CURRENCY`.
         * @example USD
         */
        CurrencyCode: string;
        /**
         * @description What Warden decided about one call an agent is about to make. `allow` means the call may go
         *     ahead and its cost has been counted against the agent's daily budget; `deny` says why in
         *     `deny_reason`; `approval_required` means a human must approve first: wait on
         *     `GET /api/v1/approvals/{approval_id}?wait=30`, then ask again with the same call and `approval_id`.
         */
        Decision: {
            /** @description The approval to wait on, or the one this call redeemed. */
            approval_id: string | null;
            /** @description What the agent may still spend today (UTC) after an `allow`, or had left when `budget_exceeded` refused the call; null when it has no daily budget and for every other ruling. */
            budget_remaining_usd: number | null;
            /**
             * Format: date-time
             * @description Next UTC midnight, when the daily budget starts again.
             */
            budget_resets_at: string;
            /** @enum {string} */
            decision: "allow" | "deny" | "approval_required";
            /**
             * @description Why the call is refused: `no_policy`, `action_not_allowed`, `path_denied`, `path_invalid`,
             *     `cost_exceeds_max`, `budget_exceeded`, `approval_denied`, `approval_expired`, `approval_used`,
             *     `approval_mismatch`, `approval_pending`; null unless `decision` is `deny`.
             */
            deny_reason: string | null;
            /** @description The policy that decided (the first that denied, asked for approval, or allowed); null when the agent has none. */
            policy_id: string | null;
            /**
             * Format: int32
             * @description The version of that policy the decision used.
             */
            policy_version: number | null;
            /** @description The request id, also on the billing event this decision wrote. */
            request_id: string;
        };
        /**
         * @description A secret an agent found in a cluster: where it lives (cluster, provider, ref), its labels and
         *     status, and who reported it when. Warden never holds its value: reading or changing one goes
         *     through an access request.
         */
        DiscoveredSecret: {
            /** @description The agent that reported it last; null once that agent is deleted. */
            agent_id: string | null;
            cluster_name: components["schemas"]["SecretClusterName"];
            /** Format: date-time */
            created_at: string;
            /**
             * Format: date-time
             * @description The earliest `last_seen` any report gave.
             */
            first_seen: string;
            id: string;
            labels: components["schemas"]["SecretLabels"];
            /**
             * Format: date-time
             * @description The latest `last_seen` any report gave (never in the future).
             */
            last_seen: string;
            provider: components["schemas"]["SecretProvider"];
            ref: components["schemas"]["SecretRef"];
            status: components["schemas"]["DiscoveredSecretStatus"];
            /**
             * Format: date-time
             * @description When its labels, status or reporting agent last changed.
             */
            updated_at: string;
        };
        /**
         * @description What the reporting agent last saw: `active` (the secret exists in the cluster), `deleted` (it
         *     is gone), `error` (the agent could not read its metadata).
         * @enum {string}
         */
        DiscoveredSecretStatus: "active" | "deleted" | "error";
        /**
         * @description How a link was delivered. `email`: to the user's mailbox, or, when `SMTP_URL` is unset, to the
         *     server log for the operator; the token is never in the answer, because whoever asks for a
         *     link must not be the one who gets it (anyone can ask for anyone's magic link).
         *     `response`, with the link's `token` in this body, only when the development switch
         *     `DEV_RETURN_LINK_TOKENS` is on (seed 001's "token returned when email disabled"); Warden
         *     refuses to start with it under `NODE_ENV=production`.
         */
        EmailDelivery: {
            /** @enum {string} */
            delivery: "email" | "response";
            /** Format: date-time */
            expires_at: string;
            /** @description Only when `delivery` is `response` (DEV_RETURN_LINK_TOKENS). */
            token?: string;
        };
        /**
         * @description A named stage inside a workspace (seed 002), such as `staging` or `production`. `project_id`
         *     is seed 002's name for `workspace_id`: the two always hold the same id.
         */
        Environment: {
            /** Format: date-time */
            created_at: string;
            id: string;
            name: string;
            project_id: string;
            workspace_id: string;
        };
        /**
         * @description Stable UPPER_SNAKE reason for programs to branch on. Every code Warden answers with is listed
         *     here with its HTTP status; a code is never renamed or reused for another meaning.
         * @enum {string}
         */
        ErrorCode: "MALFORMED_HTTP" | "MALFORMED_JSON" | "MALFORMED_CONTENT_ENCODING" | "MALFORMED_PATH" | "INCOMPLETE_BODY" | "JSON_TOO_DEEP" | "INVALID_PARAMETER" | "INVALID_CURSOR" | "CREDENTIALS_CONFLICT" | "CREDENTIAL_MISSING" | "CREDENTIAL_MALFORMED" | "CREDENTIAL_INVALID" | "CREDENTIAL_EXPIRED" | "CREDENTIAL_REVOKED" | "DEVICE_NOT_BOUND" | "LOGIN_FAILED" | "LINK_INVALID" | "LINK_USED" | "LINK_EXPIRED" | "PIN_INVALID" | "PIN_USED" | "PIN_EXPIRED" | "PIN_ATTEMPTS_EXCEEDED" | "INSTALL_TOKEN_INVALID" | "INSTALL_TOKEN_EXPIRED" | "INSTALL_TOKEN_USED" | "REFRESH_TOKEN_INVALID" | "REFRESH_TOKEN_REUSED" | "AUDIT_LOGS_REQUIRES_UPGRADE" | "COMPLIANCE_REPORTS_REQUIRES_UPGRADE" | "CUSTOM_RETENTION_REQUIRES_UPGRADE" | "CUSTOM_ROLES_REQUIRES_UPGRADE" | "SIEM_EXPORT_REQUIRES_UPGRADE" | "EMAIL_SUPPORT_REQUIRES_UPGRADE" | "PRIORITY_SUPPORT_REQUIRES_UPGRADE" | "SLACK_SUPPORT_REQUIRES_UPGRADE" | "DEDICATED_CSM_REQUIRES_UPGRADE" | "AGENTS_LIMIT_REACHED" | "API_KEYS_LIMIT_REACHED" | "USERS_LIMIT_REACHED" | "WORKSPACES_LIMIT_REACHED" | "PERMISSION_DENIED" | "CREDENTIAL_NOT_ACCEPTED" | "ORG_CREDENTIAL_REQUIRED" | "PLATFORM_ADMIN_REQUIRED" | "PRIVILEGE_ESCALATION" | "GRANT_REQUIRES_OWNER" | "NOT_THIS_AGENT" | "NOT_THIS_INSTALLATION" | "GATEWAY_KEY_AGENT_STOPPED" | "GATEWAY_KEY_VENDOR_DELETED" | "ROUTE_NOT_FOUND" | "ORG_NOT_FOUND" | "WORKSPACE_NOT_FOUND" | "ENVIRONMENT_NOT_FOUND" | "MEMBER_NOT_FOUND" | "USER_NOT_FOUND" | "ROLE_NOT_FOUND" | "USER_ROLE_NOT_FOUND" | "API_KEY_NOT_FOUND" | "API_KEY_DEVICE_NOT_FOUND" | "AGENT_NOT_FOUND" | "INSTALLATION_NOT_FOUND" | "VENDOR_NOT_FOUND" | "SUPPORT_TICKET_NOT_FOUND" | "GATEWAY_KEY_NOT_FOUND" | "METHOD_NOT_ALLOWED" | "REQUEST_TIMEOUT" | "ALREADY_EXISTS" | "EMAIL_TAKEN" | "EMAIL_ALREADY_VERIFIED" | "NOT_A_USER_LOGIN" | "NOT_A_SESSION" | "IDEMPOTENCY_KEY_REUSED" | "WORKSPACE_NAME_TAKEN" | "WORKSPACE_NOT_EMPTY" | "ENVIRONMENT_NAME_TAKEN" | "ROLE_NAME_TAKEN" | "ROLE_BUILT_IN" | "ROLE_ALREADY_ASSIGNED" | "LAST_OWNER" | "API_KEY_REVOKED" | "API_KEY_EXPIRED" | "API_KEY_DEVICE_LIMIT_REACHED" | "AGENT_REVOKED" | "AGENT_STOPPED" | "AGENT_HAS_NO_KEY" | "AGENT_IN_OTHER_WORKSPACE" | "KEY_NOT_PROVEN" | "KEY_PROVEN_ELSEWHERE" | "VENDOR_NAME_TAKEN" | "SUPPORT_DELIVERY_NOT_RETRYABLE" | "PAYLOAD_TOO_LARGE" | "UNSUPPORTED_MEDIA_TYPE" | "UNSUPPORTED_CHARSET" | "UNSUPPORTED_ENCODING" | "VALIDATION_FAILED" | "BODY_REQUIRED" | "EXPIRY_AMBIGUOUS" | "EXPIRY_OUT_OF_RANGE" | "UNKNOWN_PERMISSION" | "REDIRECT_NOT_ALLOWED" | "INVALID_PUBLIC_KEY" | "WEAK_PUBLIC_KEY" | "INVALID_SIGNATURE_ENCODING" | "ENVIRONMENT_MISMATCH" | "INVALID_PROOF" | "PROOF_EXPIRED" | "SEKUIRE_ID_MISMATCH" | "SIEM_INTAKE_REQUIRED" | "SIEM_CREDENTIAL_REQUIRED" | "DESTINATION_NOT_ALLOWED" | "INVALID_TIME_RANGE" | "VENDOR_URL_REFUSED" | "VENDOR_AUTH_INVALID" | "RATE_LIMITED" | "HEADERS_TOO_LARGE" | "INTERNAL_ERROR" | "SIEM_DELIVERY_FAILED" | "DESTINATION_UNRESOLVABLE" | "DATABASE_UNAVAILABLE" | "APPROVAL_NOT_FOUND" | "APPROVAL_ALREADY_DECIDED" | "APPROVAL_EXPIRED" | "APPROVAL_WAITS_EXHAUSTED" | "POLICY_NOT_FOUND" | "POLICY_VERSION_NOT_FOUND" | "POLICY_NAME_TAKEN" | "POLICY_IN_USE" | "UNKNOWN_POLICY" | "ENCRYPTION_KEY_MISSING" | "GATEWAY_PATH_REFUSED" | "GATEWAY_LOOP" | "ACTION_MISMATCH" | "POLICY_DENIED" | "BUDGET_EXCEEDED" | "UPSTREAM_UNREACHABLE" | "UPSTREAM_REFUSED" | "UPSTREAM_TIMEOUT" | "JOB_NOT_FOUND" | "JOB_NOT_HELD" | "JOB_PAYLOAD_TOO_LARGE" | "JOB_WAITS_EXHAUSTED" | "PROJECT_NOT_FOUND" | "PROJECT_NAME_TAKEN" | "PROJECT_ARCHIVED" | "WORKFLOW_NOT_FOUND" | "WORKFLOW_VERSION_NOT_FOUND" | "WORKFLOW_NAME_TAKEN" | "WORKFLOW_INVALID" | "UNKNOWN_ROLE" | "SECRET_NOT_FOUND" | "OIDC_NOT_CONFIGURED" | "OIDC_STATE_INVALID" | "OIDC_STATE_USED" | "OIDC_STATE_EXPIRED" | "OIDC_PROVIDER_ERROR" | "OIDC_RESPONSE_INVALID" | "OIDC_EMAIL_UNVERIFIED" | "OIDC_EMAIL_DOMAIN_NOT_ALLOWED" | "OIDC_NO_ORG" | "OIDC_PROVIDER_UNAVAILABLE" | "REGISTRY_NETWORK_REQUIRES_UPGRADE" | "FLEET_OPS_REQUIRES_UPGRADE" | "IMAGE_REF_INVALID" | "IMAGE_SCAN_NOT_FOUND" | "IMAGE_SCAN_REPORT_NOT_FOUND" | "REGISTRY_CREDENTIAL_INVALID" | "REGISTRY_CREDENTIAL_EXISTS" | "REGISTRY_CREDENTIAL_NOT_FOUND" | "UNKNOWN_CURRENCY" | "TRANSFER_RECIPIENT_INVALID" | "INSUFFICIENT_FUNDS" | "TRANSFER_DENIED" | "TRANSFER_NOT_APPROVED" | "TRANSFER_NOT_FOUND" | "AMOUNT_USD_MISMATCH" | "CURRENCY_NOT_GOVERNABLE" | "AGENT_NOT_LISTED" | "AGENT_ALREADY_HIRED" | "LISTING_NOT_FOUND" | "ARGOCD_ENDPOINT_NOT_FOUND" | "ARGOCD_ENDPOINT_NAME_TAKEN" | "ARGOCD_ENDPOINT_DISABLED" | "ARGOCD_URL_REFUSED" | "ARGOCD_UNREACHABLE" | "ARGOCD_REQUEST_FAILED" | "GITOPS_APP_MAPPING_NOT_FOUND" | "GITOPS_APP_MAPPING_EXISTS" | "ACTOR_MISMATCH" | "USER_REQUIRED" | "HUMAN_DECISION_REQUIRED" | "SELF_APPROVAL_FORBIDDEN" | "CREATOR_DECISION_FORBIDDEN" | "APPROVER_ROLE_REQUIRED" | "NOT_THE_REQUESTER" | "REQUEST_NOT_FOUND" | "WRAP_NOT_FOUND" | "REQUEST_NOT_PENDING" | "REQUEST_EXPIRED" | "ALREADY_DECIDED_BY_YOU" | "REQUEST_JOB_NOT_HELD" | "WRAP_EXISTS" | "WIRE_KEY_MISSING" | "WRAP_GONE" | "WRAP_UNREADABLE" | "STRIPE_NOT_CONFIGURED" | "STRIPE_ERROR" | "STRIPE_CUSTOMER_REQUIRED" | "STRIPE_CUSTOMER_UNAVAILABLE" | "BILLING_TERMS_OPERATOR_ONLY" | "STRIPE_DISABLED" | "WEBHOOK_SIGNATURE_INVALID";
        /** @description One reason a request was refused, usually one failing field. */
        ErrorDetail: {
            /** @description JSON-pointer-like path of the field inside its location (`name`, `members/0/role`); empty for the whole location. */
            field: string;
            /**
             * @description Where the failing value was sent; `upstream` for what an outside service (a SIEM intake) answered.
             * @enum {string}
             */
            location: "body" | "path" | "query" | "header" | "upstream";
            /** @description What is wrong with the value. */
            message: string;
            /** @description The schema keyword that failed (`required`, `type`, `maxLength`, `additionalProperties`, …). */
            rule?: string;
        };
        /** @description The body of every error response. */
        ErrorResponse: {
            code: components["schemas"]["ErrorCode"];
            details?: components["schemas"]["ErrorDetail"][];
            /** @description Stable snake_case kind of error; one per HTTP status (see the table in the introduction). */
            error: string;
            /** @description A sentence for people. Do not parse it. */
            message: string;
            /** @description The request's id; quote it when reporting a problem. */
            request_id: string;
        };
        /**
         * @description How Warden's fee on a metered call is computed: `take_rate` is `take_rate_bps` basis points of
         *     the call's cost (rounded half up to the micro-dollar); `per_action` is `fee_per_action_usd` per
         *     allowed call. Denied calls carry no fee.
         * @enum {string}
         */
        FeeMode: "take_rate" | "per_action";
        /** @description The gateway's answer when a policy asks a human to approve the call first (202); nothing was forwarded. */
        GatewayApprovalRequired: {
            /** @description The approval to wait for; send it as `X-Warden-Approval-Id` when retrying the call. */
            approval_id: string;
            /**
             * Format: date-time
             * @description When the pending approval expires unanswered.
             */
            expires_at: string;
            message: string;
            /** @description The policy that asked for the approval. */
            policy_id: string | null;
            /**
             * Format: int32
             * @description The version of that policy.
             */
            policy_version: number | null;
            request_id: string;
            /** @enum {string} */
            status: "approval_required";
        };
        /** @description A refusal by the gateway (403) in the error shape, with why policy or budget refused the call. */
        GatewayDenial: components["schemas"]["ErrorResponse"] & {
            /**
             * Format: date-time
             * @description With `BUDGET_EXCEEDED`, when the agent's daily budget resets (the next 00:00 UTC).
             */
            budget_resets_at?: string;
            /** @description snake_case reason (`no_policy`, `action_not_allowed`, `path_denied`, `cost_exceeds_max`, `budget_exceeded`, ...). */
            deny_reason?: string | null;
            /** @description The policy that decided, when one did. */
            policy_id?: string | null;
            /**
             * Format: int32
             * @description The version of that policy.
             */
            policy_version?: number | null;
        };
        /**
         * @description A gateway key binds one agent to one vendor: the agent sends it as `Authorization: Bearer sgk_…`
         *     to call the vendor through Warden. Listed by prefix and last four characters; the secret is
         *     shown once. It stops working when revoked, when its agent is disabled (kill switch) or revoked,
         *     or when its vendor is deleted.
         */
        GatewayKey: {
            agent_id: string;
            /** Format: date-time */
            created_at: string;
            id: string;
            last_four: string;
            org_id: string;
            /** @description The first 8 characters of the secret, e.g. `sgk_3kTq`. */
            prefix: string;
            /** Format: date-time */
            revoked_at: string | null;
            vendor_id: string;
        };
        /** @description A newly created gateway key, with its secret. The secret is never shown again. */
        GatewayKeyWithSecret: components["schemas"]["GatewayKey"] & {
            /** @description The secret, for the agent: `Authorization: Bearer sgk_…`. Its last six characters are a CRC32 checksum of the rest. */
            key: string;
        };
        /**
         * @description Which Argo CD application consumes which secrets: a patch of a discovered secret on
         *     `cluster_name` (and `provider`, and a `ref` starting with `ref_prefix`, where given) makes Warden
         *     watch the application until Argo CD reports it Synced and Healthy.
         */
        GitopsAppMapping: {
            app_name: string;
            argocd_endpoint_id: string;
            cluster_name: string;
            /** Format: date-time */
            created_at: string;
            id: string;
            org_id: string;
            /** @description Only secrets of this provider; null = any. */
            provider: string | null;
            /** @description Only secrets whose ref starts with this; null = any. */
            ref_prefix: string | null;
        };
        /**
         * @description What Warden saw of one mapped Argo CD application after a patch of a secret it consumes. Each
         *     change of Argo CD's sync or health status is a transition with the time Warden observed it.
         *     `state`: `pending` (not looked at yet), `observing` (seen, not yet Synced and Healthy since the
         *     patch), `synced` (Synced and Healthy after the patch: final), `timed_out` (not synced within the
         *     observation window: final).
         */
        GitopsObservation: {
            app_name: string;
            /**
             * Format: date-time
             * @description When the agent reported the patch applied.
             */
            applied_at: string;
            argocd_endpoint_id: string;
            /** Format: date-time */
            created_at: string;
            /** @description The latest health status seen. */
            health_status: string | null;
            id: string;
            /** Format: date-time */
            last_checked_at: string | null;
            /** @description Why the last look at Argo CD failed; null when it worked. */
            last_error: string | null;
            /** @description The mapping that matched (it may have been deleted since). */
            mapping_id: string;
            request_id: string;
            /**
             * Format: date-time
             * @description When the state became final.
             */
            settled_at: string | null;
            /** @enum {string} */
            state: "pending" | "observing" | "synced" | "timed_out";
            /** @description The latest sync status seen. */
            sync_status: string | null;
            transitions: {
                health_status: string | null;
                /** Format: date-time */
                observed_at: string;
                revision: string | null;
                sync_status: string | null;
            }[];
        };
        /** @description Liveness of the process. */
        Health: {
            /**
             * @description Always `ok` while the process serves requests.
             * @enum {string}
             */
            status: "ok";
        };
        /**
         * @description The hiring org's link to a listed agent of the registry network, with the terms it hired on and
         *     the initial charge, if one was made. No credential is issued: a gateway key binds an agent to a
         *     vendor of the agent's own org, so the hirer reaches the hired agent the way its owner publishes it.
         */
        Hire: {
            /** @description The hired agent. */
            agent_id: string;
            /**
             * Format: int64
             * @description The agreed price in minor units.
             */
            amount: number | null;
            amount_usd: number | null;
            asset: string | null;
            /** @description The initial charge (`charge_now`) from the hiring org's account to the agent's; absent without one. */
            charge?: components["schemas"]["Transfer"];
            /** Format: date-time */
            created_at: string;
            currency: components["schemas"]["CurrencyCode"];
            daily_budget_usd: number | null;
            id: string;
            idempotency_key: string | null;
            network: string | null;
            /** @description The hiring org. */
            org_id: string;
            /** @enum {string} */
            pricing_model: "per_task" | "per_hour" | "per_day" | "subscription" | "free";
            rail: components["schemas"]["TransferRail"];
        };
        /** @description An image the org has asked Warden to scan, with its latest scan. */
        Image: {
            /** Format: date-time */
            created_at: string;
            /** @description What the reference pointed to at the latest scan. */
            digest: string | null;
            id: string;
            latest_scan_id: string;
            /** @enum {string} */
            latest_scan_status: "queued" | "running" | "succeeded" | "failed";
            org_id: string;
            ref: string;
            registry: string;
            repository: string;
            tag: string | null;
            /** Format: date-time */
            updated_at: string;
        };
        /** @description One advisory that applies to one installed package. */
        ImageFinding: {
            /** @description The OSV record's id (`CVE-…`, `GHSA-…`, `DSA-…`). */
            advisory_id: string;
            aliases: string[];
            /** @enum {string} */
            ecosystem: "Debian" | "Alpine" | "npm" | "PyPI";
            /** @description Versions that fix it, lowest first; empty when no fix is known. */
            fixed_versions: string[];
            installed_version: string;
            package: string;
            /** @enum {string} */
            severity: "critical" | "high" | "medium" | "low" | "unknown";
            summary: string | null;
        };
        /** @description One installed package found in the image's file system (after every layer's deletions). */
        ImagePackage: {
            /** @enum {string} */
            ecosystem: "Debian" | "Alpine" | "npm" | "PyPI";
            name: string;
            /** @description The file it was read from (`var/lib/dpkg/status`, `app/node_modules/x/package.json`). */
            path: string;
            /** @description The source package (dpkg `Source:`, apk origin) advisories of Debian and Alpine name. */
            source: string | null;
            version: string;
        };
        /**
         * @description What Warden presents to one registry host when it reads an image of the org: a user name and
         *     password (HTTP Basic, or at the registry's token service when it answers with a Bearer
         *     challenge) or an access token (sent as `Bearer`). The secret is encrypted at rest (AES-256-GCM
         *     under the org's data key) and never returned, logged or audited; at most its last four
         *     characters are shown.
         */
        ImageRegistryCredential: {
            /** Format: date-time */
            created_at: string;
            id: string;
            /**
             * @description `basic`: user name and password; `token`: an access token sent as `Bearer`.
             * @enum {string}
             */
            kind: "basic" | "token";
            org_id: string;
            /** @description The registry host, with its port when not the default (`ghcr.io`, `registry.example.com:5000`). */
            registry: string;
            /** @description The password's or token's last four characters; null when it is shorter than 16 characters. */
            secret_last_four: string | null;
            username: string | null;
        };
        /**
         * @description One scan of a container image: `queued` until a worker takes it, `running` while Warden reads
         *     the image from its registry, then `succeeded` (its report is at
         *     `GET /api/v1/images/{ref}/scan-report`) or `failed` with the reason in `reason`.
         */
        ImageScan: {
            /** Format: date-time */
            created_at: string;
            /** @description What the reference pointed to when the scan was asked for (an image index's digest for a multi-platform image); null when the registry could not tell. */
            digest: string | null;
            /** Format: date-time */
            finished_at: string | null;
            id: string;
            org_id: string;
            /** @description Why the scan failed, in words; null unless `failed`. */
            reason: string | null;
            /** @description The full reference asked for: `registry/repository:tag` or `registry/repository@sha256:…`. Requests for two references that resolve to one digest while its scan is queued or running share that scan; each request's answer and each reference's report show it under the reference asked for. */
            ref: string;
            registry: string;
            repository: string;
            /** Format: date-time */
            started_at: string | null;
            /** @enum {string} */
            status: "queued" | "running" | "succeeded" | "failed";
            tag: string | null;
        };
        /**
         * @description The latest succeeded scan of an image: what Warden read from the registry (digest, size,
         *     layers, platform, base OS), the installed packages (dpkg, apk, Node `package.json`s, Python
         *     `*.dist-info/METADATA`) and the advisories from `OSV_DATA_DIR` that apply to them, by severity
         *     with their fixed versions. `advisories.loaded` false means no advisories were loaded: no
         *     finding then says nothing about the image, and `verdict` is `no_advisories_loaded`, never
         *     `clean`.
         */
        ImageScanReport: {
            advisories: {
                /** @description Whether any OSV record was loaded from `OSV_DATA_DIR`. */
                loaded: boolean;
                /** Format: int32 */
                records: number;
            };
            counts: {
                /** Format: int32 */
                critical: number;
                /** Format: int32 */
                high: number;
                /** Format: int32 */
                low: number;
                /** Format: int32 */
                medium: number;
                /** Format: int32 */
                total: number;
                /** Format: int32 */
                unknown: number;
            };
            digest: string;
            /** @description The findings grouped by severity, most severe first within the report. */
            findings: {
                critical: components["schemas"]["ImageFinding"][];
                high: components["schemas"]["ImageFinding"][];
                low: components["schemas"]["ImageFinding"][];
                medium: components["schemas"]["ImageFinding"][];
                unknown: components["schemas"]["ImageFinding"][];
            };
            /** Format: int32 */
            layer_count: number;
            /** @description The platform manifest read (differs from `digest` for an image index). */
            manifest_digest: string;
            /** @description The base OS from `/etc/os-release` (or `/usr/lib/os-release`); null when the image has none. */
            os: {
                id: string | null;
                pretty_name: string | null;
                version_id: string | null;
            } | null;
            packages: components["schemas"]["ImagePackage"][];
            /** @example linux/amd64 */
            platform: string;
            scan: components["schemas"]["ImageScan"];
            /**
             * Format: int64
             * @description The config and compressed layers, as the manifest declares them.
             */
            size_bytes: number;
            /** @enum {string} */
            verdict: "vulnerable" | "no_known_vulnerabilities" | "no_advisories_loaded";
        };
        /**
         * @description A fresh 32-byte data-encryption key (DEK) for one value the agent sends Warden, in two forms:
         *     `sealed_dek` opens only with the agent's X25519 private key (see `SealedBox`), and
         *     `wrapped_dek` is the same key wrapped by Warden's key-encryption key, opaque to the agent,
         *     which it sends back beside the value it encrypted with the key. Warden keeps no copy.
         */
        IssuedDek: {
            dek_id: string;
            /**
             * Format: date-time
             * @description The wrapped DEK is refused after this.
             */
            expires_at: string;
            sealed_dek: components["schemas"]["SealedBox"];
            /** @description Opaque; send it back unchanged as `wrapped_dek` of `POST /agents/{id}/wraps`. */
            wrapped_dek: string;
        };
        /**
         * @description A unit of work for an agent running in a customer's cluster (seed 002's job queue): read a
         *     secret's value, apply a new one, or an org's own `custom` work. A job is either pinned to one
         *     agent (`agent_id` set when it was enqueued) or open to every agent of the org that serves its
         *     `cluster_name` (that has reported secrets of the cluster).
         *
         *     `status`: `queued` (waiting for a claim), `claimed` (an agent holds it until
         *     `lease_expires_at`), `completed` or `failed` (final). A claimed job not completed before its
         *     lease expires goes back to the queue; after `max_attempts` claims it fails for good with an
         *     `error` saying so. `agent_id` is the pinned agent, or else the agent that claimed it last.
         */
        Job: {
            agent_id: string | null;
            /**
             * Format: int32
             * @description How many times the job has been claimed.
             */
            attempts: number;
            /** Format: date-time */
            claimed_at: string | null;
            /** @description The cluster whose agent does the work. */
            cluster_name: string;
            /** Format: date-time */
            completed_at: string | null;
            /** Format: date-time */
            created_at: string;
            /** @description Why it failed, as the agent reported it or as Warden decided. */
            error: string | null;
            id: string;
            kind: components["schemas"]["JobKind"];
            /**
             * Format: date-time
             * @description While `claimed`: when the job returns to the queue unless completed.
             */
            lease_expires_at: string | null;
            /** Format: int32 */
            max_attempts: number;
            /** @description What the agent needs to do the work (never a secret's value). */
            payload: {
                [key: string]: unknown;
            };
            /** @description The access request the job carries out, if any. */
            request_id: string | null;
            /** @enum {string} */
            status: "queued" | "claimed" | "completed" | "failed";
        };
        /**
         * @description `read` fetches a secret's value for a read request, `patch` applies a new value for a patch request, `custom` is any other work an admin enqueues.
         * @enum {string}
         */
        JobKind: "read" | "patch" | "custom";
        /** @description A ledger account of the org or of one of its agents, in one currency. Its balance never goes below zero. */
        LedgerAccount: {
            agent_id: string | null;
            /**
             * Format: int64
             * @description In the currency's minor unit.
             */
            balance: number;
            /** Format: date-time */
            created_at: string;
            currency: components["schemas"]["CurrencyCode"];
            /**
             * Format: int32
             * @description How many decimals the minor unit is: `balance` 12345 with exponent 2 is 123.45.
             */
            exponent: number;
            id: string;
            /** @description The network named when the account was opened (signup's wallet), for information. */
            network: string | null;
            org_id: string;
            /** @enum {string} */
            owner_type: "org" | "agent";
        };
        /** @description A login session for a user: the JWT to send as `Authorization: Bearer`, when it expires, and the user. */
        LoginResult: {
            /** Format: date-time */
            expires_at: string;
            token: string;
            user: components["schemas"]["User"];
        };
        /**
         * @description Seed 003's profile of the caller (`uuid`, `email`, `firstname`, `lastname`), with the org and
         *     the credential. `user_source` says whose profile it is: the logged-in user (`login`), the user
         *     who created the API key (`key_creator`), the org's first owner for a key no user created, such
         *     as the one printed at first start (`org_owner`), the platform admin of an admin session
         *     (`platform_admin`: `email` only), or nobody (`none`: a creator-less key in an org with no owner
         *     user yet; every profile field is null).
         */
        Me: {
            /** @description The API key used, and whether the device named in `X-Warden-Device` is bound to it; absent for other credentials. */
            api_key?: {
                /** @description The key is bound to devices, so other requests must name one. */
                device_binding_required: boolean;
                /** @description The key's device this request named; null when it named none of them. */
                device_id: string | null;
                id: string;
                name: string;
                prefix: string;
            };
            /** Format: email */
            email: string | null;
            firstname: string | null;
            lastname: string | null;
            /** @description The caller's org; absent for a platform admin session. */
            org?: components["schemas"]["Org"];
            permissions: string[];
            /**
             * @description The kind of credential presented.
             * @enum {string}
             */
            type: "user" | "api_key" | "admin_session";
            /** @enum {string} */
            user_source: "login" | "key_creator" | "org_owner" | "platform_admin" | "none";
            /** @description The user's id (`usr_…`). */
            uuid: string | null;
        };
        /**
         * Format: int64
         * @description An amount in the currency's minor unit (cents for `USD`, yen for `JPY`, fils for `KWD`); never a fraction.
         * @example 2500
         */
        MinorUnits: number;
        /** @description A listed agent as the registry network shows it to other orgs. */
        NetworkAgent: {
            /** @description What `POST /marketplace/hire` takes as `to_agent_id`. */
            agent_id: string;
            category: components["schemas"]["RegistryCategory"];
            description: string;
            /** Format: date-time */
            listed_at: string;
            name: string;
            /** @description The agent's registered identity, for `GET /trust/profile/did:sekuire:{sekuire_id}`. */
            sekuire_id: string | null;
            verified: boolean;
        };
        /** @description A started single sign-on, for a caller that sends the browser to the provider itself. */
        OidcAuthorization: {
            /**
             * Format: uri
             * @description The provider's authorization URL with `state`, `nonce` and the PKCE challenge.
             */
            authorization_url: string;
            /**
             * Format: date-time
             * @description When the sign-in attempt expires; the callback must come before.
             */
            expires_at: string;
        };
        /** @description Whether this Warden offers single sign-on through an OpenID provider. */
        OidcStatus: {
            /** @description True when `OIDC_ISSUER`, `OIDC_CLIENT_ID` and `OIDC_ALLOWED_EMAIL_DOMAINS` are configured. */
            enabled: boolean;
            /** @description Where a console sends the browser to sign in (`GET`, optionally with `redirect_url`); null when SSO is off. */
            start_url: string | null;
        };
        /** @description An organization (tenant). Every other object belongs to exactly one. */
        Org: {
            /** Format: date-time */
            created_at: string;
            /** @example org_01jd4v3k8m2q6r9t1w5y7z0abc */
            id: string;
            name: string;
            plan: components["schemas"]["PlanName"];
            /** @description The org's Stripe customer (billing settings); absent where not loaded. */
            stripe_customer_id?: string | null;
        };
        /**
         * @description Returned beside every page of a list. Pass `next_cursor` as `cursor` to get the next page;
         *     it is null on the last page.
         */
        Pagination: {
            /** @description Whether another page follows. */
            has_more: boolean;
            /** @description Opaque cursor of the next page, or null. */
            next_cursor: string | null;
        };
        /**
         * @description A path prefix in canonical form: starts with `/`, no percent-escapes, no empty, `.` or `..`
         *     segments. It matches on segment boundaries, ignoring case: `/admin` matches `/admin` and
         *     `/admin/x` but not `/administrator`; a prefix ending in `/` matches as written (`/admin/`
         *     matches `/admin/x`, not `/admin`). Calls are matched after their path is canonicalised
         *     (percent-escapes decoded once, dot segments resolved, repeated slashes collapsed).
         */
        PathPrefix: string;
        Permission: {
            description: string;
            /** @example workspace.edit */
            name: string;
            /**
             * @description `platform` permissions belong to platform admins only and cannot be put in a role or key.
             * @enum {string}
             */
            scope: "org" | "platform";
        };
        /**
         * @description One row of Warden's plan table. `features` gate operations (an operation's `x-plan-feature`);
         *     `quotas` cap how many of a kind of object an org may hold (`null`: unlimited).
         */
        Plan: {
            /** Format: int32 */
            audit_log_retention_days: number;
            features: string[];
            name: components["schemas"]["PlanName"];
            quotas: {
                /** Format: int32 */
                agents: number | null;
                /** Format: int32 */
                api_keys: number | null;
                /** Format: int32 */
                users: number | null;
                /** Format: int32 */
                workspaces: number | null;
            };
        };
        /**
         * @description The 402 body when the org's plan does not include a feature or its quota is used up.
         *     `current_usage` is present only for quota-style limits.
         */
        PlanLimitError: {
            code: components["schemas"]["ErrorCode"];
            current_usage?: {
                /** Format: int32 */
                current: number;
                /** Format: int32 */
                max: number;
            };
            /** @enum {string} */
            error: "plan_limit_exceeded";
            message: string;
            request_id: string;
            /** @enum {string} */
            required_plan: "free" | "starter" | "professional" | "enterprise";
            /** Format: uri */
            upgrade_url: string;
        };
        /**
         * @description An org's plan, cheapest first. See `GET /api/v1/plans` for what each includes.
         * @enum {string}
         */
        PlanName: "free" | "starter" | "professional" | "enterprise";
        /**
         * @description A governance policy (seed 001) at its current `version`. Every change makes a new, immutable
         *     version; decisions record the policy id and the version they used.
         */
        Policy: {
            /** Format: date-time */
            created_at: string;
            id: components["schemas"]["PolicyId"];
            name: string;
            org_id: string;
            /**
             * Format: date-time
             * @description When the current version was made.
             */
            updated_at: string;
            /**
             * Format: int32
             * @description The current version; 1 when created, one more on each change.
             */
            version: number;
        } & components["schemas"]["PolicyRulesView"];
        /** @description A policy's `pol_` id. */
        PolicyId: string;
        /** @description The policies to set, in evaluation order; every one must be a live policy of the org (422 `UNKNOWN_POLICY` otherwise). */
        PolicyIdList: {
            policy_ids: components["schemas"]["PolicyId"][];
        };
        /**
         * @description A policy's whole content (seed 001). `PUT` replaces all of it: an omitted field takes its
         *     default, not its previous value. `max_cost_per_request`: calls declaring a higher cost are
         *     denied (null or omitted: no cap). `approval_min_cost`: calls costing this much or more need a
         *     human approval (null or omitted: none).
         */
        PolicyInput: {
            /** @description When not empty, a call's action must match one of these; empty (the default) allows every action. */
            allowed_actions?: components["schemas"]["ActionPattern"][];
            /** @description Calls whose action matches one of these need a human approval. */
            approval_actions?: components["schemas"]["ActionPattern"][];
            approval_min_cost?: components["schemas"]["UsdAmount"];
            /** @description Calls whose canonical path starts with one of these are denied. */
            denied_path_prefixes?: components["schemas"]["PathPrefix"][];
            max_cost_per_request?: components["schemas"]["UsdAmount"];
            /** @description Unique in the org (case-insensitive). */
            name: string;
            /** @description Optional; must be the caller's org (a platform admin names any org). */
            org_id?: string;
            /**
             * @description Every call this policy allows needs a human approval first.
             * @default false
             */
            require_approval: boolean;
        };
        /** @description A policy's rules as one version holds them (USD amounts rounded to whole micro-dollars when stored). */
        PolicyRulesView: {
            allowed_actions: components["schemas"]["ActionPattern"][];
            approval_actions: components["schemas"]["ActionPattern"][];
            approval_min_cost: components["schemas"]["UsdAmount"];
            denied_path_prefixes: components["schemas"]["PathPrefix"][];
            max_cost_per_request: components["schemas"]["UsdAmount"];
            require_approval: boolean;
        };
        /** @description One immutable version of a policy; it stays readable after the policy changes or is deleted. */
        PolicyVersion: {
            /**
             * Format: date-time
             * @description When this version was made.
             */
            created_at: string;
            name: string;
            policy_id: components["schemas"]["PolicyId"];
            /** Format: int32 */
            version: number;
        } & components["schemas"]["PolicyRulesView"];
        /** @description Who is calling, and what they may do. */
        Principal: {
            /** @description The platform admin behind an admin session; absent otherwise. */
            admin?: {
                /** Format: email */
                email: string;
            };
            /** @description The API key used; absent for other credentials. */
            api_key?: {
                /** Format: date-time */
                expires_at: string;
                id: string;
                /** @enum {string} */
                mode: "live" | "test";
                name: string;
                prefix: string;
            };
            /**
             * Format: date-time
             * @description When this credential stops working.
             */
            expires_at: string;
            /** @description The caller's org; absent for a platform admin session. */
            org?: components["schemas"]["Org"];
            permissions: string[];
            roles: string[];
            /** @enum {string} */
            type: "user" | "api_key" | "admin_session";
            /** @description The user behind a login token, or the user who created the API key; absent otherwise. */
            user?: components["schemas"]["User"];
        };
        /** @description Whether this instance can serve traffic, with the outcome of each check. */
        Readiness: {
            /** @description One entry per check, by name. */
            checks: {
                database: components["schemas"]["ReadinessCheck"];
                migrations: components["schemas"]["ReadinessCheck"];
            };
            /** @enum {string} */
            status: "ready" | "not_ready";
        };
        /** @description The outcome of one readiness check. */
        ReadinessCheck: {
            /** @description Why the check failed (no secrets, no stack traces). */
            error?: string;
            /** @description How long the check took. */
            latency_ms?: number;
            /** @description For the migrations check, the migrations not yet applied. */
            pending?: string[];
            /** @enum {string} */
            status: "ok" | "fail";
        };
        /**
         * Format: uri
         * @description Where the emailed link sends the browser afterwards, with the login JWT in the URL fragment
         *     (`#token=…`). Its origin must be one of `REDIRECT_ALLOWED_ORIGINS` (422 otherwise); without
         *     it the link answers 200 with the token as JSON.
         */
        RedirectUrl: string;
        /**
         * @description The answer of a refresh: a new runtime token (seed 000's fields) and the refresh token that
         *     replaces the one presented, which is spent (rotation, RFC 9700 §4.14.2). Keep the new refresh
         *     token for the next refresh.
         */
        RefreshResult: components["schemas"]["RuntimeToken"] & {
            refresh_token: string;
        };
        /**
         * @description A lowercase category slug (letters, digits, `-`, `_`), e.g. `security`, `data-analysis`.
         * @example security
         */
        RegistryCategory: string;
        /** @description An agent of the org listed on the registry network. `verified` is computed on every read. */
        RegistryListing: {
            agent_id: string;
            category: components["schemas"]["RegistryCategory"];
            /** Format: date-time */
            created_at: string;
            description: string;
            id: string;
            org_id: string;
            /** Format: date-time */
            updated_at: string;
            /** @description The agent has a registered Ed25519 identity whose possession was proven, and is active - its trust profile says `verified` - right now. */
            verified: boolean;
        };
        /** @description A role is a named set of permissions. Built-in roles (owner, admin, member, viewer) are the same in every org and cannot be changed. */
        Role: {
            built_in: boolean;
            /**
             * Format: date-time
             * @description Null for built-in roles.
             */
            created_at: string | null;
            description: string;
            id: string;
            name: string;
            /** @description Null for built-in roles. */
            org_id: string | null;
            permissions: string[];
        };
        /** @description A new runtime token; the previous one stops working at once (no grace period). */
        RuntimeToken: {
            /** Format: date-time */
            expires_at: string;
            runtime_token: string;
            /** Format: int32 */
            token_version: number;
        };
        /**
         * @description Bytes sealed to an agent's registered X25519 wire key (`PUT /agents/{id}/public-key`), so that
         *     only the holder of the private key opens them. Algorithm `X25519-HKDF-SHA256-AES256GCM`:
         *     1. Warden makes an ephemeral X25519 key pair and sends its public key as `epk`.
         *     2. `shared = X25519(agent private key, epk)` (32 bytes).
         *     3. `key = HKDF-SHA256(ikm = shared, salt = epk ‖ agent public key, info = "warden:v1:seal|" + context, length = 32)`,
         *        where `context` is this object's `context` field, as UTF-8.
         *     4. `plaintext = AES-256-GCM-Open(key, nonce, ciphertext, aad = "warden:v1:seal|" + context)`; `ciphertext` ends with the
         *        16-byte GCM tag.
         *     All byte strings are standard base64.
         */
        SealedBox: {
            /** @enum {string} */
            alg: "X25519-HKDF-SHA256-AES256GCM";
            /** @description AES-256-GCM ciphertext followed by its 16-byte tag. */
            ciphertext: string;
            /** @description What is sealed, e.g. `dek|dek_…` or `wrap|wrp_…`; bound into the key and the AAD. */
            context: string;
            /** @description The ephemeral X25519 public key (32 bytes). */
            epk: string;
            /** @description The 12-byte AES-GCM nonce. */
            nonce: string;
        };
        /**
         * @description The name of the cluster the secret lives in, as its agent reports it.
         * @example prod-eu-1
         */
        SecretClusterName: string;
        /**
         * @description Free-form metadata, at most 32 labels. Keys are 1–128 characters of letters, digits, `.`, `_`,
         *     `/` and `-`, starting with a letter or digit (a `:` would make `label=k:v` filters ambiguous);
         *     values are strings of at most 256 characters. Labels are plain metadata, shown to everyone
         *     holding `secret.read`: never put a value in one.
         * @example {
         *       "app": "payments",
         *       "env": "production"
         *     }
         */
        SecretLabels: {
            [key: string]: string;
        };
        /**
         * @description Where the secret is kept in the cluster, e.g. `kubernetes`, `vault`, `aws-secrets-manager`.
         * @example kubernetes
         */
        SecretProvider: string;
        /**
         * @description The secret's name in its provider, e.g. `payments/db-credentials` (Kubernetes namespace/name)
         *     or `secret/data/payments/db` (a Vault path). Any printable text; never the value.
         * @example payments/db-credentials
         */
        SecretRef: string;
        /** @description The secret a request names - a discovered secret's `sec_` id, or where it lives (cluster, provider, ref). */
        SecretReferenceInput: {
            secret_id: string;
        } | {
            cluster_name: string;
            provider: string;
            ref: string;
        };
        /**
         * @description What one SIEM export delivered. The events selected (newest `limit` of those matching the
         *     filters) are sent oldest first in batches; a batch that still fails after the retries counts
         *     all its events as `failed`.
         */
        SiemExportResult: {
            /**
             * Format: int32
             * @description Requests made to the intake, retries not counted (PagerDuty takes one event per request).
             */
            batches: number;
            /** @description One entry per batch that failed after its retries, and one for all the batches left unsent when the export's time (`SIEM_EXPORT_TIMEOUT_MS`, default 60 s) ran out. */
            errors: {
                /**
                 * Format: int32
                 * @description Attempts made; 0 for batches not sent because the export ran out of time (`SIEM_EXPORT_TIMEOUT_MS`).
                 */
                attempts: number;
                /** Format: int32 */
                batch: number;
                /** Format: int32 */
                events: number;
                reason: string;
                /**
                 * Format: int32
                 * @description The intake's last HTTP status; null when no answer came.
                 */
                status: number | null;
            }[];
            /**
             * Format: int32
             * @description Events the intake did not accept after every retry.
             */
            failed: number;
            /**
             * Format: int64
             * @description Chain seq of the oldest event selected.
             */
            first_seq: number | null;
            /** @description The intake the events went to (without any query string). */
            intake_url: string;
            /**
             * Format: int64
             * @description Chain seq of the newest event selected.
             */
            last_seq: number | null;
            organization_id: components["schemas"]["AuditChainId"];
            /**
             * Format: int32
             * @description Events that matched the filters (at most `limit`).
             */
            selected: number;
            /**
             * Format: int32
             * @description Events the intake accepted.
             */
            sent: number;
            /** @enum {string} */
            vendor: "datadog" | "splunk" | "pagerduty";
        };
        /**
         * @description Where to send the events; defaults to the server's configured intake (or the vendor's public
         *     one). Must be `https://`: plain `http://` only for hosts in the server's
         *     `OUTBOUND_ALLOWED_HOSTS`. Warden resolves the host once and refuses private, loopback,
         *     link-local and cloud-metadata addresses unless the host is allow-listed; it follows no
         *     redirects. A custom `intake_url` needs the credential in the body as well: the server's own
         *     credential is only ever sent to the server's own intake.
         */
        SiemIntakeUrl: string;
        /**
         * @description Tags sent with every event (Datadog `ddtags`, Splunk indexed field `tags`, PagerDuty `custom_details.tags`).
         * @example [
         *       "env:prod",
         *       "team:secops"
         *     ]
         */
        SiemTags: string[];
        /**
         * @description A redacted snapshot of one org's governance state (seed 001 `GET /v1/state`): no secret appears,
         *     vendor credentials and gateway keys are named by their last four characters only.
         */
        StateSnapshot: {
            agents: {
                budget_remaining_usd: number | null;
                daily_budget: number | null;
                id: string;
                name: string;
                policy_ids: string[];
                /** @description Counted against today's (UTC) budget so far. */
                spent_today_usd: number;
                /** @enum {string} */
                status: "active" | "disabled" | "revoked";
            }[];
            gateway_keys: components["schemas"]["GatewayKey"][];
            /** Format: date-time */
            generated_at: string;
            org_id: string;
            pending_approvals: components["schemas"]["Approval"][];
            policies: components["schemas"]["Policy"][];
            /** @description True when a list stopped at 1000 items; page through the resource's own list operation for the rest. */
            truncated?: boolean;
            vendors: components["schemas"]["Vendor"][];
        };
        /** @description An invoice Warden created in Stripe for one billing period (seed 001), with what Stripe reported since. */
        StripeInvoice: {
            /** @description The invoice total (fees and retainer), exact to the cent. */
            amount_due_usd: number;
            /** Format: date-time */
            created_at: string;
            currency: string;
            hosted_invoice_url: string | null;
            /** @example inv_01jd4v3k8m2q6r9t1w5y7z0abc */
            id: string;
            /**
             * Format: int32
             * @description Invoice items: one per agent with fees, and the retainer.
             */
            line_count: number;
            org_id: string;
            /** Format: date-time */
            period_from: string;
            /** Format: date-time */
            period_to: string;
            /**
             * @description Stripe's status, or what its webhooks last reported (`payment_failed`, `customer_deleted`).
             * @enum {string}
             */
            status: "draft" | "open" | "paid" | "payment_failed" | "void" | "uncollectible" | "customer_deleted";
            /** @example cus_QabcdEFGhijKL */
            stripe_customer_id: string;
            /** @example in_1QabcdEFGhijKLmn */
            stripe_invoice_id: string;
            /** Format: date-time */
            updated_at: string;
        };
        /**
         * @description The body every support channel takes (seed 000). `organization_id` may be given and must be
         *     the caller's org; `workspace_id`, when given, must be one of its workspaces. `subject` is one
         *     line (it becomes a mail subject: no control characters).
         * @example {
         *       "organization_id": "org_abc123",
         *       "workspace_id": "ws_abc123",
         *       "subject": "Need help with SIEM export",
         *       "message": "Datadog export returned 502 at 2026-02-18T12:00:00Z",
         *       "category": "integrations",
         *       "contact_email": "ops@example.com"
         *     }
         */
        SupportRequest: {
            /**
             * @description A free label for triage, e.g. `integrations`, `billing`, `security`.
             * @default general
             */
            category: string;
            /**
             * Format: email
             * @description Where the support team answers.
             */
            contact_email: string;
            message: string;
            organization_id?: string;
            subject: string;
            workspace_id?: string;
        };
        /**
         * @description A support request as Warden keeps it. `sla_due_at` is when a first answer is due, from the
         *     channel: `csm` 1 hour, `priority` 4 hours, `slack` 8 hours, `email` 48 hours after
         *     `created_at`. `delivery_status` says whether the ticket reached the support team:
         *     `delivered`, `failed` (with `delivery_error`), `not_configured` (this Warden has no
         *     `SUPPORT_EMAIL` or `SUPPORT_SLACK_WEBHOOK_URL` for the channel, or no `SMTP_URL`), or
         *     `pending` while it is being sent. A `failed` or `not_configured` ticket is sent again with
         *     `POST /api/v1/support/tickets/{id}/retry-delivery`; `delivery_attempts` counts every attempt
         *     (the Slack client itself tries up to three times per delivery on 429, 5xx and network errors).
         */
        SupportTicket: {
            category: string;
            /** @enum {string} */
            channel: "email" | "priority" | "slack" | "csm";
            contact_email: string;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            delivered_at: string | null;
            /** Format: int32 */
            delivery_attempts: number;
            delivery_error: string | null;
            /** @enum {string} */
            delivery_status: "pending" | "delivered" | "failed" | "not_configured";
            id: string;
            message: string;
            org_id: string;
            /** Format: date-time */
            sla_due_at: string;
            /** @enum {string} */
            status: "open";
            subject: string;
            workspace_id: string | null;
        };
        /**
         * @description One movement of money. A settled ledger transfer is two ledger entries that sum to zero: `amount`
         *     leaves the payer's account and reaches the payee's. `kind` says what made it: an agent's
         *     `POST /tx/transfer`, a hire's initial charge (`hire_charge`) or a recorded deposit (`deposit`).
         *     The shared payment token, when one was given, is never stored or returned: `has_shared_payment_token` says one came.
         */
        Transfer: {
            amount: components["schemas"]["MinorUnits"];
            /** @description The value in US dollars governance counted: an agent transfer's `amount` / 100 (transfers are governed in USD only); as declared for a hire's charge, which is not governed. */
            amount_usd: number | null;
            approval_id: string | null;
            asset: string | null;
            /** Format: date-time */
            created_at: string;
            currency: components["schemas"]["CurrencyCode"];
            /** @description The paying agent; null when the org's own account paid, or for a deposit. */
            from_agent_id: string | null;
            has_shared_payment_token: boolean;
            id: string;
            idempotency_key: string | null;
            /** @enum {string} */
            kind: "transfer" | "hire_charge" | "deposit";
            mandate_id: string | null;
            /** @description The caller's own string labels, returned as given. */
            metadata: {
                [key: string]: string;
            };
            network: string | null;
            /** @description The paying org (for a deposit, the org credited). */
            org_id: string;
            /**
             * @description `approval_required`: a human must approve (`approval_id`), then repeat the request with `approval_id`. `rail_not_supported`: recorded, not moved.
             * @enum {string|null}
             */
            pending_reason: "rail_not_supported" | "approval_required" | null;
            rail: components["schemas"]["TransferRail"];
            /** Format: date-time */
            settled_at: string | null;
            /**
             * @description `settled`: the ledger entries are written. `pending`: see `pending_reason`.
             * @enum {string}
             */
            status: "settled" | "pending";
            /** @description An outside destination (non-ledger rails). */
            to_address: string | null;
            /** @description The agent paid; null for an org account or an outside address. */
            to_agent_id: string | null;
        };
        /**
         * @description How the money moves. `ledger` is Warden's own double-entry ledger and settles at once. The others
         *     (`card`, `ach`, `wire`, `stablecoin`, `x402`, `spt` — a shared payment token) are recorded as
         *     `pending` with `pending_reason: rail_not_supported`: Warden moves no money on them.
         * @example ledger
         * @enum {string}
         */
        TransferRail: "ledger" | "card" | "ach" | "wire" | "stablecoin" | "x402" | "spt";
        /** @description Aggregates of the transfers (agents' transfers and hire charges; deposits are not counted) created in [`from`, `to`); `org_id` is absent from the public statistics. */
        TxStats: {
            /** @description The declared US-dollar value of the settled transfers. */
            amount_usd_total: number;
            /** Format: date-time */
            from: string;
            /**
             * Format: int64
             * @description Hires made in the period.
             */
            hires: number;
            org_id?: string;
            /** Format: int64 */
            pending: number;
            /** Format: int64 */
            settled: number;
            /** Format: date-time */
            to: string;
            /**
             * Format: int64
             * @description Transfers of every kind and status.
             */
            transfers: number;
            /** @description Settled volume per currency, in minor units. */
            volume: {
                /** Format: int64 */
                amount: number;
                /** Format: int64 */
                count: number;
                currency: components["schemas"]["CurrencyCode"];
            }[];
        };
        /** @description US dollars, at most 6 decimal places (Warden keeps whole micro-dollars); null for none. */
        UsdAmount: number | null;
        /** @description A person who signs in. `role` is the built-in role the user holds in the org; more roles come from user-role assignments. */
        User: {
            /** Format: date-time */
            created_at: string;
            /** @description The user who created this one (through `POST /users`, with a login or an API key they made); null when nobody in the org did (signup's first owner, single sign-on, a key made with no user, a platform admin) or the user predates the record. A user never decides an access request of a user they created (403 `CREATOR_DECISION_FORBIDDEN`). */
            created_by?: string | null;
            /** Format: email */
            email: string;
            email_verified: boolean;
            /** Format: date-time */
            email_verified_at: string | null;
            /** @description Given name; null when not set. Seed 003's `/me` reports it as `firstname`. */
            first_name?: string | null;
            id: string;
            /** Format: date-time */
            last_login_at: string | null;
            /** @description Family name; null when not set. Seed 003's `/me` reports it as `lastname`. */
            last_name?: string | null;
            org_id: string;
            role: components["schemas"]["BuiltInRoleName"];
        };
        /** @description An assignment of a role to a user, on top of the user's built-in role. */
        UserRole: {
            /** Format: date-time */
            created_at: string;
            id: string;
            role_id: string;
            role_name: string;
            user_id: string;
        };
        /**
         * @description An upstream API the org's agents call through Warden's gateway. Its `api_key` is encrypted at
         *     rest (AES-256-GCM under the org's data key) and never returned, logged or audited; at most
         *     its last four characters are shown.
         */
        Vendor: {
            /** @description The credential's last four characters; null when it is shorter than 16 characters (four would give too much away). */
            api_key_last_four: string | null;
            auth_type: components["schemas"]["VendorAuthType"];
            /** @description The https URL calls are forwarded to (path appended); no query, fragment or credentials. */
            base_url: string;
            /** @description A response header in which the vendor reports a call's actual cost in USD (e.g. `X-Cost-Usd`); null when it reports none. */
            cost_header: string | null;
            /** Format: date-time */
            created_at: string;
            /** Format: date-time */
            credential_rotated_at: string | null;
            /** @description The header (`header`) or query parameter (`query`) carrying the credential; null for `bearer` and `basic`. */
            header_name: string | null;
            id: string;
            name: string;
            org_id: string;
            /** Format: date-time */
            updated_at: string;
        };
        /**
         * @description How Warden presents the vendor's `api_key` on each forwarded call: `bearer` as
         *     `Authorization: Bearer <api_key>`; `header` as `<header_name>: <api_key>`; `query` as the query
         *     parameter `<header_name>` (default `api_key`); `basic` as HTTP Basic, the `api_key` being `user:password`.
         * @enum {string}
         */
        VendorAuthType: "bearer" | "header" | "query" | "basic";
        /**
         * @description An approval workflow (seed 002) at its current `version`: which access requests it governs
         *     (`match`) and how they are approved. Every change makes a new, immutable version; an access
         *     request records the workflow id and version it was judged under.
         */
        Workflow: {
            approver_roles: string[];
            auto_approve: boolean;
            /** Format: date-time */
            created_at: string;
            description: string;
            id: string;
            match: components["schemas"]["WorkflowMatch"];
            name: string;
            org_id: string;
            /** Format: int32 */
            priority: number;
            /** Format: int32 */
            required_approvals: number;
            /**
             * Format: date-time
             * @description When the current version was made.
             */
            updated_at: string;
            /**
             * Format: int32
             * @description 1 when created, one more on each change.
             */
            version: number;
        };
        /**
         * @description A whole workflow: PUT replaces every field (an omitted one takes its default). `auto_approve`
         *     and `required_approvals: 0` mean the same thing and are kept in step: `auto_approve: true`
         *     alone sets 0 approvals, `required_approvals: 0` alone sets `auto_approve`, and the two
         *     contradicting each other is 422 `WORKFLOW_INVALID`. Without either, one approval is needed.
         *     `approver_roles` must name roles of the org (built-in or custom), else 422 `UNKNOWN_ROLE`.
         */
        WorkflowInput: {
            /** @description Role names whose holders may approve; empty = anyone holding `request.approve`. */
            approver_roles?: string[];
            auto_approve?: boolean;
            /** @default  */
            description: string;
            match?: components["schemas"]["WorkflowMatch"];
            name: string;
            /**
             * Format: int32
             * @description Among matching workflows the highest priority wins; on a tie the oldest workflow.
             * @default 0
             */
            priority: number;
            /** Format: int32 */
            required_approvals?: number;
        };
        /**
         * @description Which access requests a workflow governs. Every criterion given must hold (AND); inside a list
         *     any entry may match (OR); an absent or empty criterion matches everything. `environment_names`
         *     compare case-insensitively; `labels` match when the secret carries every label given with the
         *     same value. Ids are not checked: one that names nothing simply never matches.
         */
        WorkflowMatch: {
            environment_ids?: string[];
            environment_names?: string[];
            kinds?: ("read" | "patch")[];
            labels?: {
                [key: string]: string;
            };
            project_ids?: string[];
        };
        /** @description A workspace (seed 002's "project") groups agents, installations and environments inside an org. */
        Workspace: {
            /**
             * Format: date-time
             * @description When it was archived; null while active.
             */
            archived_at: string | null;
            /** Format: date-time */
            created_at: string;
            description: string;
            id: string;
            name: string;
            org_id: string;
            status: components["schemas"]["WorkspaceStatus"];
            /** Format: date-time */
            updated_at: string;
        };
        /** @description A user's membership of a workspace, with the role they hold there. */
        WorkspaceMember: {
            /** Format: date-time */
            added_at: string;
            /** Format: email */
            email: string;
            role: components["schemas"]["WorkspaceRole"];
            user_id: string;
        };
        /**
         * @description A workspace's effective policy (seed 000): the policies it names, at their current versions,
         *     and what they add up to. Agents in the workspace are governed by their own policies first,
         *     then these.
         */
        WorkspacePolicy: {
            /**
             * @description The policies taken together, as the evaluator applies them. With no policy every call is
             *     denied (`no_policy`: Warden denies by default). `max_cost_per_request` is the lowest cap
             *     and `approval_min_cost` the lowest approval threshold (null for none).
             */
            merged: {
                /** @description Each policy's non-empty allowed_actions; an action must match one pattern of every set. */
                allowed_action_sets: components["schemas"]["ActionPattern"][][];
                /** @description Every policy's, without repeats. */
                approval_actions: components["schemas"]["ActionPattern"][];
                approval_min_cost: components["schemas"]["UsdAmount"];
                /** @description True when there is no policy, so every call is denied. */
                default_deny: boolean;
                /** @description Every policy's, without repeats. */
                denied_path_prefixes: components["schemas"]["PathPrefix"][];
                max_cost_per_request: components["schemas"]["UsdAmount"];
                /** @description Some policy requires approval of every call. */
                require_approval: boolean;
            };
            policies: components["schemas"]["PolicyVersion"][];
            /** @description The workspace's policies, in evaluation order. */
            policy_ids: components["schemas"]["PolicyId"][];
            workspace_id: string;
        };
        /**
         * @description What a member may do in one workspace.
         * @enum {string}
         */
        WorkspaceRole: "admin" | "member" | "viewer";
        /**
         * @description `active`, or `archived`: an archived workspace (project) takes no new environments and no new
         *     access requests; everything in it stays readable, and setting it `active` again reopens it.
         * @enum {string}
         */
        WorkspaceStatus: "active" | "archived";
        /**
         * @description A single-shot wrap: one secret value in transit between an agent and a person, encrypted at
         *     rest under its own data key (wrapped by the key-encryption key). `kind: read` holds a value an
         *     agent fetched for the requester; `kind: patch` holds the requester's new value for the agent.
         *     It is retrieved at most once: the ciphertext is destroyed on retrieval or at `expires_at`,
         *     whichever comes first. This summary never carries the value, and carries its length
         *     (`size_bytes`) only to a caller who may know it.
         */
        Wrap: {
            /** Format: date-time */
            created_at: string;
            /** @description The agent (`agt_`) that posted a read value, or the user (`usr_`) who gave a patch value. */
            created_by: string;
            /** Format: date-time */
            expires_at: string;
            id: string;
            /** @enum {string} */
            kind: "read" | "patch";
            request_id: string;
            /** Format: date-time */
            retrieved_at: string | null;
            retrieved_by: string | null;
            /**
             * Format: int32
             * @description Length of the value in UTF-8 bytes. Left out when `GET /requests/{id}/wraps` answers anyone but the requester (a length hints at the value: a PIN, a token format); the agent that posted or retrieves a wrap and the requester who retrieves it always see it.
             */
            size_bytes?: number;
            /**
             * @description `available` until retrieved or expired; the value is gone in the other two.
             * @enum {string}
             */
            status: "available" | "retrieved" | "expired";
        };
    };
    responses: {
        /** @description The outside service (e.g. the SIEM intake) could not be reached or refused every request; `details` says what it answered. */
        BadGateway: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "bad_gateway",
                 *       "message": "The intake accepted none of the 3 events: HTTP 403 from http-intake.logs.datadoghq.com.",
                 *       "code": "SIEM_DELIVERY_FAILED",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543",
                 *       "details": [
                 *         {
                 *           "location": "upstream",
                 *           "field": "batch 1",
                 *           "message": "HTTP 403 after 1 attempt",
                 *           "rule": "delivery"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description The request is malformed: broken JSON, or a path, query or header parameter that fails its schema. */
        BadRequest: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "invalid_request",
                 *       "message": "Query parameter 'limit' must be <= 200.",
                 *       "code": "INVALID_PARAMETER",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543",
                 *       "details": [
                 *         {
                 *           "location": "query",
                 *           "field": "limit",
                 *           "message": "must be <= 200",
                 *           "rule": "maximum"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description The request conflicts with the current state of the resource. */
        Conflict: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "conflict",
                 *       "message": "An agent with this sekuire_id is already registered.",
                 *       "code": "ALREADY_EXISTS",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /**
         * @description The caller may not decide this request: they lack `request.approve` (`PERMISSION_DENIED`),
         *     use an API key instead of a login (`HUMAN_DECISION_REQUIRED`), name another user as
         *     `approver_id`/`actor_id` (`ACTOR_MISMATCH`), are its requester (`SELF_APPROVAL_FORBIDDEN`),
         *     created its requester (`CREATOR_DECISION_FORBIDDEN`: the requester's `created_by` is the
         *     caller, so the requester could be the caller's sock puppet), or lack the workflow's
         *     `approver_roles` (`APPROVER_ROLE_REQUIRED`).
         */
        DecisionForbidden: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description The credential is valid but lacks the permission the operation needs. */
        Forbidden: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "forbidden",
                 *       "message": "This operation needs the 'workspace.write' permission.",
                 *       "code": "PERMISSION_DENIED",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description The outside service Warden called for the request (a vendor behind the gateway) did not answer in time. */
        GatewayTimeout: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "gateway_timeout",
                 *       "message": "The vendor did not answer within 30000 ms.",
                 *       "code": "UPSTREAM_TIMEOUT",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description The resource existed but is gone for good (a single-shot value already retrieved, or expired). */
        Gone: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "gone",
                 *       "message": "The wrap's value was already retrieved; it can be retrieved only once.",
                 *       "code": "WRAP_GONE",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /**
         * @description The caller lacks the operation's permission (`PERMISSION_DENIED`), would grant a permission
         *     they do not hold (`PRIVILEGE_ESCALATION`), or — not being an org owner — would give a person
         *     decision power or admin power over people: `request.approve`, `approval.decide`,
         *     `workflow.edit`, `user.edit`, `user_role.edit`, `role.edit` or `owner.grant`
         *     (`GRANT_REQUIRES_OWNER`). The last keeps the four-eyes rule: an admin cannot create a second
         *     user, make it an approver and approve their own request.
         */
        GrantForbidden: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description An unexpected failure. The body never carries a stack trace; quote `request_id` when reporting it. */
        InternalError: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "internal_error",
                 *       "message": "An unexpected error occurred. Quote the request id when reporting it.",
                 *       "code": "INTERNAL_ERROR",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description Done; no body. */
        NoContent: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content?: never;
        };
        /** @description There is no such object in your organization (objects of other organizations are reported the same way), or no such route. */
        NotFound: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "not_found",
                 *       "message": "No workspace 'ws_3kTqz9' exists in this org.",
                 *       "code": "WORKSPACE_NOT_FOUND",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description The request body is larger than the configured limit. */
        PayloadTooLarge: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "payload_too_large",
                 *       "message": "The request body exceeds the 1048576-byte limit.",
                 *       "code": "PAYLOAD_TOO_LARGE",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description The org's plan does not include this feature, or a quota is used up (then `current_usage` says how far). */
        PaymentRequired: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "plan_limit_exceeded",
                 *       "message": "Your current plan (free) allows 3 agents. Upgrade to starter or higher.",
                 *       "code": "AGENTS_LIMIT_REACHED",
                 *       "required_plan": "starter",
                 *       "upgrade_url": "https://warden.example.com/billing",
                 *       "current_usage": {
                 *         "current": 3,
                 *         "max": 3
                 *       },
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["PlanLimitError"];
            };
        };
        /**
         * @description The caller lacks the operation's permission (`PERMISSION_DENIED`), would grant or take away a
         *     permission they do not hold (`PRIVILEGE_ESCALATION`), or is not an org owner and would
         *     (`GRANT_REQUIRES_OWNER`) either give a person decision power or admin power over people
         *     (`request.approve`, `approval.decide`, `workflow.edit`, `user.edit`, `user_role.edit`,
         *     `role.edit`, `owner.grant`), or touch a decision role: a role whose name a live workflow of the
         *     org lists in `approver_roles` (or a pending access request still waits on). Creating a role of
         *     that name, changing its permissions, deleting it, and assigning it to or removing it from a user
         *     are owner-only, and the message names the workflow rule. Approval checks compare role names, so
         *     otherwise an admin (who holds `request.approve` through the built-in admin role) could narrow
         *     the role, assign it to themselves and approve, or delete it and create a harmless namesake.
         */
        RoleGrantForbidden: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description Warden's database cannot be reached right now (refused, dropped, or no connection within `DB_CONNECT_TIMEOUT_MS`); nothing was changed. Retry after `Retry-After` seconds. */
        ServiceUnavailable: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "service_unavailable",
                 *       "message": "The database did not answer in time (unreachable, or every connection busy); retry in a few seconds.",
                 *       "code": "DATABASE_UNAVAILABLE",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description What was sent and what failed (at least one event was accepted, or none matched). */
        SiemExported: {
            headers: {
                "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                "RateLimit-Reset": components["headers"]["RateLimitReset"];
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "vendor": "datadog",
                 *       "organization_id": "org_abc123",
                 *       "intake_url": "https://http-intake.logs.datadoghq.com/api/v2/logs",
                 *       "selected": 250,
                 *       "sent": 250,
                 *       "failed": 0,
                 *       "batches": 1,
                 *       "first_seq": 1181,
                 *       "last_seq": 1430,
                 *       "errors": []
                 *     }
                 */
                "application/json": components["schemas"]["SiemExportResult"];
            };
        };
        /** @description The ticket, with how its delivery to the support team went. */
        SupportTicketDelivered: {
            headers: {
                "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                "RateLimit-Reset": components["headers"]["RateLimitReset"];
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "id": "tkt_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "org_id": "org_abc123",
                 *       "workspace_id": "ws_abc123",
                 *       "channel": "priority",
                 *       "status": "open",
                 *       "subject": "Need help with SIEM export",
                 *       "message": "Datadog export returned 502 at 2026-02-18T12:00:00Z",
                 *       "category": "integrations",
                 *       "contact_email": "ops@example.com",
                 *       "sla_due_at": "2026-02-18T16:05:00Z",
                 *       "delivery_status": "delivered",
                 *       "delivery_attempts": 1,
                 *       "delivery_error": null,
                 *       "delivered_at": "2026-02-18T12:05:01Z",
                 *       "created_at": "2026-02-18T12:05:00Z"
                 *     }
                 */
                "application/json": components["schemas"]["SupportTicket"];
            };
        };
        /** @description Too many requests in the current window; retry after `Retry-After` seconds. */
        TooManyRequests: {
            headers: {
                RateLimit: components["headers"]["RateLimit"];
                "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                "RateLimit-Reset": components["headers"]["RateLimitReset"];
                "Retry-After": components["headers"]["RetryAfter"];
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "rate_limited",
                 *       "message": "Too many requests; retry in 30 seconds.",
                 *       "code": "RATE_LIMITED",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description No credential was sent, or it is invalid, expired or revoked. */
        Unauthorized: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "unauthorized",
                 *       "message": "The credential is missing, invalid, expired or revoked.",
                 *       "code": "CREDENTIAL_INVALID",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
        /** @description The JSON body does not match the operation's schema; `details` names every failing field. */
        UnprocessableEntity: {
            headers: {
                "X-Request-Id": components["headers"]["RequestId"];
                [name: string]: unknown;
            };
            content: {
                /**
                 * @example {
                 *       "error": "validation_failed",
                 *       "message": "The request body failed validation (2 problems).",
                 *       "code": "VALIDATION_FAILED",
                 *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543",
                 *       "details": [
                 *         {
                 *           "location": "body",
                 *           "field": "name",
                 *           "message": "must NOT have more than 100 characters",
                 *           "rule": "maxLength"
                 *         },
                 *         {
                 *           "location": "body",
                 *           "field": "colour",
                 *           "message": "is not a known field",
                 *           "rule": "additionalProperties"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["ErrorResponse"];
            };
        };
    };
    parameters: {
        /** @description The access request's `acr_` id. */
        AccessRequestIdPath: string;
        /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
        AgentRef: string;
        /** @description The device's id (`dev_…`). */
        ApiKeyDeviceIdPath: string;
        /** @description The API key's id (`key_…`), never its secret. */
        ApiKeyIdPath: string;
        /** @description The Argo CD endpoint's id (`argo_…`). */
        ArgocdEndpointIdPath: string;
        /** @description The `next_cursor` of the previous page. Omit it for the first page. */
        Cursor: string;
        /** @description The environment's `env_` id. An environment of another org answers 404. */
        EnvironmentIdPath: string;
        /** @description The gateway key's id (`gwk_…`), never its secret. */
        GatewayKeyIdPath: string;
        /** @description The mapping's id (`gam_…`). */
        GitopsAppMappingIdPath: string;
        /**
         * @description The image reference, percent-encoded as one path segment (`my-org%2Fmy-agent:v1.0.0`):
         *     `[registry/]repository[:tag][@sha256:digest]`. Without a registry host (a first component with
         *     a `.` or `:`, or `localhost`) the image is on `IMAGE_DEFAULT_REGISTRY`; without a tag or digest
         *     the tag is `latest`.
         * @example my-org%2Fmy-agent:v1.0.0
         */
        ImageRefPath: string;
        /** @description The scan's id (`iscan_…`). */
        ImageScanIdPath: string;
        /** @description The installation's id. */
        InstallationIdPath: string;
        /** @description The job's id (`job_…`). */
        JobIdPath: string;
        /** @description How many items a page holds at most. */
        Limit: number;
        /** @description The single-use token from the emailed link. */
        LinkToken: string;
        /** @description The org's id. An org other than your own answers 404. */
        OrgIdPath: string;
        /** @description The policy's `pol_` id. A policy of another org answers 404. */
        PolicyIdPath: string;
        /** @description The project's id (a workspace's `ws_` id). A project of another org answers 404. */
        ProjectIdPath: string;
        /** @description The registry credential's id (`rcred_…`). */
        RegistryCredentialIdPath: string;
        /** @description The role's id. */
        RoleIdPath: string;
        /** @description The discovered secret's id (`sec_…`). */
        SecretIdPath: string;
        /**
         * @description Start of the period (inclusive); default 30 days before `to`.
         * @example 2026-10-26T00:00:00Z
         */
        StatsFrom: string;
        /**
         * @description End of the period (exclusive); default now.
         * @example 2026-11-25T00:00:00Z
         */
        StatsTo: string;
        /** @description The ticket's id (`tkt_…`). */
        SupportTicketIdPath: string;
        /** @description The user's id. */
        UserIdPath: string;
        /** @description The assignment's id. */
        UserRoleIdPath: string;
        /** @description The vendor's id (`vnd_…`). */
        VendorIdPath: string;
        /** @description The workflow's `wf_` id. A workflow of another org answers 404. */
        WorkflowIdPath: string;
        /** @description The workspace's id. A workspace of another org answers 404. */
        WorkspaceIdOfPath: string;
        /** @description The workspace's id. */
        WorkspaceIdPath: string;
        /** @description The wrap's `wrp_` id. */
        WrapIdPath: string;
    };
    requestBodies: never;
    headers: {
        /**
         * @description What is left of the API key's budget (IETF httpapi RateLimit header fields draft): `r` requests
         *     remain in the current window, which ends in `t` seconds, e.g. `"api-key";r=1187;t=42`.
         */
        RateLimit: string;
        /**
         * @description Requests allowed in the current window of the operation's `x-rate-limit` bucket, for the
         *     tightest of the limits that apply to this request (per IP, per email, per org).
         */
        RateLimitLimit: number;
        /**
         * @description The API key's request budget (IETF httpapi RateLimit header fields draft): policy `"api-key"`,
         *     `q` requests per `w` seconds, e.g. `"api-key";q=1200;w=60`. Sent on every answer to a request made with an API key.
         */
        RateLimitPolicy: string;
        /** @description Requests left in the current window of that limit, this one counted; 0 means the next one is refused with 429. */
        RateLimitRemaining: number;
        /** @description Seconds until that limit's window ends and its count starts again. */
        RateLimitReset: number;
        /** @description The request id, echoed from the request's `X-Request-Id` or generated by Warden. */
        RequestId: string;
        /** @description Seconds to wait before retrying. */
        RetryAfter: number;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getJwks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key set. */
            200: {
                headers: {
                    /** @description `public, max-age=3600` */
                    "Cache-Control"?: string;
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "keys": [
                     *         {
                     *           "kty": "OKP",
                     *           "crv": "Ed25519",
                     *           "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                     *           "kid": "wk_Gf3sHn2XbQ",
                     *           "use": "sig",
                     *           "alg": "EdDSA"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        keys: {
                            /** @enum {string} */
                            alg: "EdDSA";
                            /** @enum {string} */
                            crv: "Ed25519";
                            kid: string;
                            /** @enum {string} */
                            kty: "OKP";
                            /** @enum {string} */
                            use: "sig";
                            x: string;
                        }[];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    requestAdminPin: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "admin@sekuire.ai"
                 *     }
                 */
                "application/json": {
                    /** Format: email */
                    email: string;
                };
            };
        };
        responses: {
            /** @description If the email is an admin's, a PIN is on its way. */
            200: {
                headers: {
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "challenge_id": "cf4b26f1-3b34-4c8f-b4c4-dccb0c1828b0",
                     *       "expires_at": "2026-02-19T18:15:00Z",
                     *       "delivery": "email"
                     *     }
                     */
                    "application/json": {
                        /** Format: uuid */
                        challenge_id: string;
                        /** @enum {string} */
                        delivery: "email";
                        /** Format: date-time */
                        expires_at: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    verifyAdminPin: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "admin@sekuire.ai",
                 *       "challenge_id": "cf4b26f1-3b34-4c8f-b4c4-dccb0c1828b0",
                 *       "pin": "123456"
                 *     }
                 */
                "application/json": {
                    /** Format: uuid */
                    challenge_id: string;
                    /** Format: email */
                    email: string;
                    pin: string;
                };
            };
        };
        responses: {
            /** @description The admin session. */
            200: {
                headers: {
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "session_token": "adm_b1468f885cc34ff89f0410324d0c0354",
                     *       "expires_at": "2026-02-20T01:10:00Z",
                     *       "email": "admin@sekuire.ai"
                     *     }
                     */
                    "application/json": {
                        /** Format: email */
                        email: string;
                        /** Format: date-time */
                        expires_at: string;
                        session_token: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listAgents: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Only agents in this state. */
                status?: "active" | "disabled" | "revoked";
                /** @description Only agents of this workspace. */
                workspace_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of agents. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "agents": [
                     *         {
                     *           "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "workspace_id": null,
                     *           "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *           "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *           "name": "My Agent",
                     *           "version": "1.0.0",
                     *           "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                     *           "key_proven_at": "2024-01-15T10:30:00Z",
                     *           "manifest_hash": "hash_of_manifest",
                     *           "wire_public_key": null,
                     *           "daily_budget": null,
                     *           "policy_ids": [],
                     *           "status": "active",
                     *           "disabled_reason": null,
                     *           "disabled_until": null,
                     *           "revoked_at": null,
                     *           "last_seen_at": null,
                     *           "created_at": "2024-01-15T10:30:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        agents: components["schemas"]["Agent"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createAgent: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "billing-bot",
                 *       "daily_budget": 25,
                 *       "policy_ids": []
                 *     }
                 */
                "application/json": {
                    daily_budget?: number;
                    name: string;
                    org_id?: string;
                    policy_ids?: components["schemas"]["PolicyId"][];
                    workspace_id?: string;
                };
            };
        };
        responses: {
            /** @description The new agent and its secret. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AgentWithSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getAgent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The agent. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": null,
                     *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "name": "My Agent",
                     *       "version": "1.0.0",
                     *       "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                     *       "key_proven_at": "2024-01-15T10:30:00Z",
                     *       "manifest_hash": "hash_of_manifest",
                     *       "wire_public_key": null,
                     *       "daily_budget": null,
                     *       "policy_ids": [],
                     *       "status": "active",
                     *       "disabled_reason": null,
                     *       "disabled_until": null,
                     *       "revoked_at": null,
                     *       "last_seen_at": null,
                     *       "created_at": "2024-01-15T10:30:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Agent"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getComplianceReport: {
        parameters: {
            query?: {
                /** @description `json` (default) or `markdown`. */
                format?: "json" | "markdown";
                /** @description Comma-separated frameworks to map the evidence to (default both). */
                frameworks?: components["schemas"]["ComplianceFramework"][];
            };
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The report, as JSON or Markdown. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "generated_at": "2026-11-25T09:00:00.000Z",
                     *       "organization_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "frameworks": [
                     *         "soc2"
                     *       ],
                     *       "agent": {
                     *         "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *         "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *         "name": "My Agent",
                     *         "version": "1.0.0",
                     *         "identity": "registered_key",
                     *         "status": "active",
                     *         "public_key_fingerprint": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
                     *         "created_at": "2026-11-01T10:30:00.000Z",
                     *         "disabled_reason": null,
                     *         "disabled_until": null,
                     *         "revoked_at": null
                     *       },
                     *       "credentials": {
                     *         "agent_secret_issued": false,
                     *         "install_tokens": {
                     *           "issued": 1,
                     *           "used": 1,
                     *           "expired_unused": 0,
                     *           "outstanding": 0
                     *         },
                     *         "runtime_tokens": {
                     *           "active": 1,
                     *           "expiring_within_7_days": 0
                     *         },
                     *         "refresh": {
                     *           "rotations": 2,
                     *           "last_rotated_at": "2026-11-20T08:00:00.000Z",
                     *           "reuse_detected": 0
                     *         }
                     *       },
                     *       "installations": [
                     *         {
                     *           "id": "inst_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "status": "active",
                     *           "created_at": "2026-11-01T10:35:00.000Z",
                     *           "token_version": 3,
                     *           "last_refreshed_at": "2026-11-20T08:00:00.000Z",
                     *           "last_lease_at": "2026-11-25T08:59:30.000Z",
                     *           "lease_expires_at": "2026-11-25T09:01:00.000Z",
                     *           "revoked_at": null,
                     *           "revoke_reason": null
                     *         }
                     *       ],
                     *       "revocations": [],
                     *       "audit": {
                     *         "events": 4,
                     *         "first_at": "2026-11-01T10:30:00.000Z",
                     *         "last_at": "2026-11-20T08:00:00.000Z",
                     *         "by_action": {
                     *           "agent.registered": 1,
                     *           "install_token.created": 1,
                     *           "installation.bootstrapped": 1,
                     *           "installation.refreshed": 1
                     *         },
                     *         "recent": [],
                     *         "chain": {
                     *           "valid": true,
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "events_checked": 120,
                     *           "head_seq": 120,
                     *           "first_broken_seq": null,
                     *           "reason": null,
                     *           "checkpoint": null
                     *         }
                     *       },
                     *       "controls": [
                     *         {
                     *           "framework": "soc2",
                     *           "control": "CC6.1",
                     *           "title": "Logical access - identities and credentials",
                     *           "status": "satisfied",
                     *           "evidence": [
                     *             "Identity: registered Ed25519 key; sekuire_id is the SHA-256 of the key",
                     *             "Secrets stored only as SHA-256 digests"
                     *           ]
                     *         }
                     *       ],
                     *       "summary": {
                     *         "satisfied": 1,
                     *         "attention": 0,
                     *         "not_applicable": 0
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["ComplianceReport"];
                    /**
                     * @example # Compliance report: My Agent
                     *     Generated 2026-11-25T09:00:00.000Z for workspace ws_01jd4v3k8m2q6r9t1w5y7z0abc (org org_01jd4v3k8m2q6r9t1w5y7z0abc); frameworks: SOC 2.
                     *     ...
                     */
                    "text/markdown": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    issueAgentDek: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key, sealed and wrapped. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "dek_id": "dek_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "sealed_dek": {
                     *         "alg": "X25519-HKDF-SHA256-AES256GCM",
                     *         "context": "dek|dek_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "epk": "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
                     *         "nonce": "3q2+7wAAAAAAAAAA",
                     *         "ciphertext": "q0xTq4WSgBpjD8l2aFvUq4Q9m0xWq7b2yF6d3e8o1lKk1l1Wc2yQ0hJ9bXr7s6Ab"
                     *       },
                     *       "wrapped_dek": "v1.dek_01jd4v3k8m2q6r9t1w5y7z0abc.1762077600.local:6b86b273ff34fce1.p2l0Yk2zQ1hJ9bXr7s6Abq0xTq4WSgBpjD8l2aFvUq4Q9m0xWq7b2yF6d3e8o1lKk1l1Wc2yQ0hJ9bXr7s6A",
                     *       "expires_at": "2026-11-02T10:15:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["IssuedDek"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    enableAgent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The agent. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": null,
                     *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "name": "My Agent",
                     *       "version": "1.0.0",
                     *       "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                     *       "key_proven_at": "2024-01-15T10:30:00Z",
                     *       "manifest_hash": "hash_of_manifest",
                     *       "wire_public_key": null,
                     *       "daily_budget": null,
                     *       "policy_ids": [],
                     *       "status": "active",
                     *       "disabled_reason": null,
                     *       "disabled_until": null,
                     *       "revoked_at": null,
                     *       "last_seen_at": null,
                     *       "created_at": "2024-01-15T10:30:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Agent"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    recordAgentHeartbeat: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    completeAgentJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
                /** @description The job's id (`job_…`). */
                job_id: components["parameters"]["JobIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "status": "failed",
                 *       "error": "vault: permission denied on secret/data/payments/stripe"
                 *     }
                 */
                "application/json": {
                    /** @description Why the job failed (only with `failed`). */
                    error?: string;
                    /** @enum {string} */
                    status: "completed" | "failed";
                };
            };
        };
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    claimAgentJob: {
        parameters: {
            query?: {
                /** @description Seconds to hold the answer while there is no job to claim (0-30, default 0). */
                wait?: number;
            };
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The claimed job, now `claimed` by the caller until `lease_expires_at`. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "job_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "read",
                     *       "status": "claimed",
                     *       "cluster_name": "prod-eu-1",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "request_id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "payload": {
                     *         "provider": "vault",
                     *         "ref": "secret/data/payments/stripe"
                     *       },
                     *       "attempts": 1,
                     *       "max_attempts": 3,
                     *       "claimed_at": "2026-11-25T10:00:00Z",
                     *       "lease_expires_at": "2026-11-25T10:05:00Z",
                     *       "completed_at": null,
                     *       "error": null,
                     *       "created_at": "2026-11-25T09:59:58Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Job"];
                };
            };
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description This instance holds as many waits as it allows; retry after `Retry-After` seconds. */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "rate_limited",
                     *       "message": "Too many job claims are being waited for; retry in 1 second.",
                     *       "code": "JOB_WAITS_EXHAUSTED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    putAgentListing: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "category": "security",
                 *       "description": "Reviews pull requests for leaked secrets."
                 *     }
                 */
                "application/json": {
                    category: components["schemas"]["RegistryCategory"];
                    /** @default  */
                    description?: string;
                };
            };
        };
        responses: {
            /** @description The listing. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "lst_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *       "category": "security",
                     *       "description": "Reviews pull requests for leaked secrets.",
                     *       "verified": true,
                     *       "created_at": "2026-11-25T10:00:00Z",
                     *       "updated_at": "2026-11-25T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["RegistryListing"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteAgentListing: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setAgentPolicies: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "policy_ids": [
                 *         "pol_01jd4v3k8m2q6r9t1w5y7z0abc"
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["PolicyIdList"];
            };
        };
        responses: {
            /** @description The agent with its new policies. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": null,
                     *       "sekuire_id": null,
                     *       "did": null,
                     *       "name": "billing-bot",
                     *       "version": null,
                     *       "public_key": null,
                     *       "key_proven_at": null,
                     *       "manifest_hash": null,
                     *       "wire_public_key": null,
                     *       "daily_budget": 25,
                     *       "policy_ids": [
                     *         "pol_01jd4v3k8m2q6r9t1w5y7z0abc"
                     *       ],
                     *       "status": "active",
                     *       "disabled_reason": null,
                     *       "disabled_until": null,
                     *       "revoked_at": null,
                     *       "last_seen_at": null,
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Agent"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setAgentPublicKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "public_key": "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
                 *     }
                 */
                "application/json": {
                    /** @description Base64 or base64url of the 32-byte X25519 public key. */
                    public_key: string;
                };
            };
        };
        responses: {
            /** @description The agent with its key. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Agent"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    revokeAgent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The agent. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": null,
                     *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "name": "My Agent",
                     *       "version": "1.0.0",
                     *       "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                     *       "key_proven_at": "2024-01-15T10:30:00Z",
                     *       "manifest_hash": "hash_of_manifest",
                     *       "wire_public_key": null,
                     *       "daily_budget": null,
                     *       "policy_ids": [],
                     *       "status": "active",
                     *       "disabled_reason": null,
                     *       "disabled_until": null,
                     *       "revoked_at": null,
                     *       "last_seen_at": null,
                     *       "created_at": "2024-01-15T10:30:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Agent"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    bulkUpsertDiscoveredSecrets: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "secrets": [
                 *         {
                 *           "cluster_name": "prod-eu-1",
                 *           "provider": "kubernetes",
                 *           "ref": "payments/db-credentials",
                 *           "labels": {
                 *             "app": "payments",
                 *             "env": "production"
                 *           },
                 *           "status": "active",
                 *           "last_seen": "2026-11-25T09:00:00Z"
                 *         },
                 *         {
                 *           "cluster_name": "prod-eu-1",
                 *           "provider": "vault",
                 *           "ref": "secret/data/payments/stripe",
                 *           "labels": {
                 *             "app": "payments"
                 *           },
                 *           "status": "active",
                 *           "last_seen": "2026-11-25T09:00:00Z"
                 *         }
                 *       ]
                 *     }
                 */
                "application/json": {
                    secrets: {
                        cluster_name: components["schemas"]["SecretClusterName"];
                        labels?: components["schemas"]["SecretLabels"];
                        /**
                         * Format: date-time
                         * @description When the agent last saw it (default now).
                         */
                        last_seen?: string;
                        provider: components["schemas"]["SecretProvider"];
                        ref: components["schemas"]["SecretRef"];
                        status?: components["schemas"]["DiscoveredSecretStatus"];
                    }[];
                };
            };
        };
        responses: {
            /** @description How many of the reported secrets were new, changed, or already known as reported. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "received": 2,
                     *       "created": 1,
                     *       "updated": 1,
                     *       "unchanged": 0
                     *     }
                     */
                    "application/json": {
                        /**
                         * Format: int32
                         * @description Secrets Warden did not know.
                         */
                        created: number;
                        /**
                         * Format: int32
                         * @description Items in the report.
                         */
                        received: number;
                        /**
                         * Format: int32
                         * @description Known secrets the report left as they were (their `last_seen` may have moved forward).
                         */
                        unchanged: number;
                        /**
                         * Format: int32
                         * @description Known secrets whose labels, status or reporting agent changed.
                         */
                        updated: number;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    verifyAgent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The verdict. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "valid": false,
                     *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "name": "My Agent",
                     *       "version": "1.0.0",
                     *       "registered_at": "2024-01-15T10:30:00Z",
                     *       "status": "active",
                     *       "key_proven_at": null,
                     *       "proof_message": "{\"org_id\":\"org_01jd4v3k8m2q6r9t1w5y7z0abc\",\"purpose\":\"warden.agent_key_proof\",\"sekuire_id\":\"21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9\",\"timestamp\":\"2024-01-15T10:30:00Z\"}"
                     *     }
                     */
                    "application/json": {
                        /** Format: date-time */
                        key_proven_at: string | null;
                        name: string;
                        /** @description For an unproven registered key, the RFC 8785 JSON to sign (its timestamp is now); null once proven and for minted agents. */
                        proof_message: string | null;
                        /** Format: date-time */
                        registered_at: string;
                        sekuire_id: string | null;
                        /** @enum {string} */
                        status: "active" | "disabled" | "revoked";
                        valid: boolean;
                        version: string | null;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    proveAgentKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "timestamp": "2024-01-15T10:30:00Z",
                 *       "signature": "RESgkIGnQzMmgCJpEuEigdbeSI25wUrd45qaz0gR9RFuoXs5Cf5Z1m91p_jkYRcNoQ9zY29UJtQ3RxcCBFsoBQ"
                 *     }
                 */
                "application/json": components["schemas"]["AgentKeyProof"];
            };
        };
        responses: {
            /** @description The agent, with `key_proven_at`. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": null,
                     *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "name": "My Agent",
                     *       "version": "1.0.0",
                     *       "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                     *       "key_proven_at": "2024-01-15T10:30:02Z",
                     *       "manifest_hash": "hash_of_manifest",
                     *       "wire_public_key": null,
                     *       "daily_budget": null,
                     *       "policy_ids": [],
                     *       "status": "active",
                     *       "disabled_reason": null,
                     *       "disabled_until": null,
                     *       "revoked_at": null,
                     *       "last_seen_at": null,
                     *       "created_at": "2024-01-15T10:30:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Agent"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createAgentWrap: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "request_id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "wrapped_dek": "v1.dek_01jd4v3k8m2q6r9t1w5y7z0abc.1762077600.local:6b86b273ff34fce1.p2l0Yk2zQ1hJ9bXr7s6Abq0xTq4WSgBpjD8l2aFvUq4Q9m0xWq7b2yF6d3e8o1lKk1l1Wc2yQ0hJ9bXr7s6A",
                 *       "nonce": "3q2+7wAAAAAAAAAA",
                 *       "ciphertext": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"
                 *     }
                 */
                "application/json": {
                    /** @description AES-256-GCM ciphertext ‖ 16-byte tag, base64. */
                    ciphertext: string;
                    /** @description The 12-byte AES-GCM nonce, base64. */
                    nonce: string;
                    request_id: string;
                    /** @description The `wrapped_dek` Warden issued. */
                    wrapped_dek: string;
                };
            };
        };
        responses: {
            /** @description The wrap, value-free and without `size_bytes` (this answer is also the audit event's `after`, which `audit.read` holders see). */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "wrp_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "request_id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "read",
                     *       "status": "available",
                     *       "created_by": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "retrieved_at": null,
                     *       "retrieved_by": null,
                     *       "created_at": "2026-11-02T10:06:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Wrap"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    retrieveAgentWrap: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its 64-hex `sekuire_id`. */
                id: components["parameters"]["AgentRef"];
                /** @description The wrap's `wrp_` id. */
                wrap_id: components["parameters"]["WrapIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The wrap and its value, sealed to the agent. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "wrp_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "request_id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "patch",
                     *       "status": "retrieved",
                     *       "created_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "size_bytes": 42,
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "retrieved_at": "2026-11-02T10:07:00Z",
                     *       "retrieved_by": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "sealed_value": {
                     *         "alg": "X25519-HKDF-SHA256-AES256GCM",
                     *         "context": "wrap|wrp_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "epk": "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
                     *         "nonce": "3q2+7wAAAAAAAAAA",
                     *         "ciphertext": "q0xTq4WSgBpjD8l2aFvUq4Q9m0xWq7b2yF6d3e8o1lKk1l1Wc2yQ0hJ9bXr7s6Ab"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Wrap"] & {
                        sealed_value: components["schemas"]["SealedBox"];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            410: components["responses"]["Gone"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    registerAgent: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                 *       "name": "My Agent",
                 *       "version": "1.0.0",
                 *       "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                 *       "manifest_hash": "hash_of_manifest"
                 *     }
                 */
                "application/json": {
                    manifest_hash?: string;
                    name: string;
                    proof?: components["schemas"]["AgentKeyProof"];
                    public_key: string;
                    sekuire_id: string;
                    version?: string;
                    workspace_id?: string;
                };
            };
        };
        responses: {
            /** @description The registered agent; `key_proven_at` is set when the body carried a valid `proof`. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": null,
                     *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "name": "My Agent",
                     *       "version": "1.0.0",
                     *       "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                     *       "key_proven_at": null,
                     *       "manifest_hash": "hash_of_manifest",
                     *       "wire_public_key": null,
                     *       "daily_budget": null,
                     *       "policy_ids": [],
                     *       "status": "active",
                     *       "disabled_reason": null,
                     *       "disabled_until": null,
                     *       "revoked_at": null,
                     *       "last_seen_at": null,
                     *       "created_at": "2024-01-15T10:30:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Agent"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listApiKeys: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of API keys. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "api_keys": [
                     *         {
                     *           "id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "CI deploys",
                     *           "description": "Used by the deploy pipeline",
                     *           "mode": "live",
                     *           "prefix": "sk_live_1hSY",
                     *           "last_four": "CVBC",
                     *           "permissions": [
                     *             "workspace.read"
                     *           ],
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "expires_at": "2027-05-23T09:00:00Z",
                     *           "last_used_at": null,
                     *           "revoked_at": null,
                     *           "created_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        api_keys: components["schemas"]["ApiKey"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "CI deploys",
                 *       "description": "Used by the deploy pipeline",
                 *       "expires_in_days": 180,
                 *       "permissions": [
                 *         "workspace.read"
                 *       ]
                 *     }
                 */
                "application/json": {
                    description?: string;
                    /** Format: date-time */
                    expires_at?: string;
                    /**
                     * Format: int32
                     * @enum {integer}
                     */
                    expires_in_days?: 30 | 180 | 365;
                    /**
                     * @default live
                     * @enum {string}
                     */
                    mode?: "live" | "test";
                    name: string;
                    permissions?: string[];
                    /** Format: int32 */
                    rate_limit_per_minute?: number | null;
                };
            };
        };
        responses: {
            /** @description The new key, with its secret in `key`. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "CI deploys",
                     *       "description": "Used by the deploy pipeline",
                     *       "mode": "live",
                     *       "prefix": "sk_live_1hSY",
                     *       "last_four": "CVBC",
                     *       "permissions": [
                     *         "workspace.read"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "expires_at": "2027-05-23T09:00:00Z",
                     *       "last_used_at": null,
                     *       "revoked_at": null,
                     *       "created_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "key": "sk_live_1hSYMpLFRxTF4SN8LxzjMFT5LOHCQIMw4TCVBC"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiKeyWithSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    revokeApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The revoked key. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "CI deploys",
                     *       "description": "Used by the deploy pipeline",
                     *       "mode": "live",
                     *       "prefix": "sk_live_1hSY",
                     *       "last_four": "CVBC",
                     *       "permissions": [
                     *         "workspace.read"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "expires_at": "2027-05-23T09:00:00Z",
                     *       "last_used_at": null,
                     *       "revoked_at": null,
                     *       "created_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiKey"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "permissions": [
                 *         "workspace.read",
                 *         "agent.read"
                 *       ],
                 *       "rate_limit_per_minute": 600
                 *     }
                 */
                "application/json": {
                    description?: string;
                    name?: string;
                    permissions?: string[];
                    /** Format: int32 */
                    rate_limit_per_minute?: number | null;
                };
            };
        };
        responses: {
            /** @description The key as it is now. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "CI deploys",
                     *       "description": "Used by the deploy pipeline",
                     *       "mode": "live",
                     *       "prefix": "sk_live_1hSY",
                     *       "last_four": "CVBC",
                     *       "permissions": [
                     *         "workspace.read",
                     *         "agent.read"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "expires_at": "2027-05-23T09:00:00Z",
                     *       "last_used_at": null,
                     *       "revoked_at": null,
                     *       "created_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "rate_limit_per_minute": 600
                     *     }
                     */
                    "application/json": components["schemas"]["ApiKey"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listApiKeyDevices: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key's devices. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "devices": [
                     *         {
                     *           "id": "dev_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "api_key_id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "fingerprint": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
                     *           "name": "MacBook-Pro",
                     *           "os": "macos",
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "last_seen_at": null
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        devices: components["schemas"]["ApiKeyDevice"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    bindApiKeyDevice: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "fingerprint": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
                 *       "name": "MacBook-Pro",
                 *       "os": "macos"
                 *     }
                 */
                "application/json": {
                    /** @description SHA-256, hex; stored lower-cased. */
                    fingerprint: string;
                    name: string;
                    os: string;
                };
            };
        };
        responses: {
            /** @description The key was already bound to this fingerprint; the existing device. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "dev_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "api_key_id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "fingerprint": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
                     *       "name": "MacBook-Pro",
                     *       "os": "macos",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "last_seen_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["ApiKeyDevice"];
                };
            };
            /** @description The new device. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "dev_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "api_key_id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "fingerprint": "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
                     *       "name": "MacBook-Pro",
                     *       "os": "macos",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "last_seen_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["ApiKeyDevice"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    unbindApiKeyDevice: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The device's id (`dev_…`). */
                device_id: components["parameters"]["ApiKeyDeviceIdPath"];
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    rollApiKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The API key's id (`key_…`), never its secret. */
                id: components["parameters"]["ApiKeyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "grace_period_seconds": 3600
                 *     }
                 */
                "application/json": {
                    /**
                     * Format: int32
                     * @default 0
                     */
                    grace_period_seconds?: number;
                };
            };
        };
        responses: {
            /** @description The key with its new secret in `key`. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "CI deploys",
                     *       "description": "Used by the deploy pipeline",
                     *       "mode": "live",
                     *       "prefix": "sk_live_1hSY",
                     *       "last_four": "CVBC",
                     *       "permissions": [
                     *         "workspace.read"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "expires_at": "2027-05-23T09:00:00Z",
                     *       "last_used_at": null,
                     *       "revoked_at": null,
                     *       "created_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "key": "sk_live_1hSYMpLFRxTF4SN8LxzjMFT5LOHCQIMw4TCVBC"
                     *     }
                     */
                    "application/json": components["schemas"]["ApiKeyWithSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getApprovalSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The settings. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "slack_webhook_url": "https://hooks.slack.com/…",
                     *       "webhook_url": "https://ops.example.com/warden/approvals",
                     *       "webhook_secret_version": 1,
                     *       "secret": null,
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["ApprovalSettings"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateApprovalSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "slack_webhook_url": "https://hooks.slack.com/services/T000/B000/XXXX",
                 *       "webhook_url": "https://ops.example.com/warden/approvals"
                 *     }
                 */
                "application/json": {
                    slack_webhook_url?: string | null;
                    webhook_url?: string | null;
                };
            };
        };
        responses: {
            /** @description The settings; `secret` is set when this call set `webhook_url`. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "slack_webhook_url": "https://hooks.slack.com/…",
                     *       "webhook_url": "https://ops.example.com/warden/approvals",
                     *       "webhook_secret_version": 2,
                     *       "secret": "whsec_3f2a9c0e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19",
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["ApprovalSettings"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listApprovals: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description The org whose approvals to list; defaults to the caller's. */
                org_id?: string;
                /** @description Only approvals in this state. */
                status?: "pending" | "approved" | "denied" | "expired" | "used";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of approvals. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "approvals": [
                     *         {
                     *           "id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "key": "gwk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "action": "payments.refund",
                     *           "method": "POST",
                     *           "path": "/v1/refunds",
                     *           "cost_usd": 0.25,
                     *           "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "policy_version": 3,
                     *           "status": "pending",
                     *           "reason": null,
                     *           "decided_by": null,
                     *           "created_at": "2026-11-02T10:00:00Z",
                     *           "decided_at": null,
                     *           "expires_at": "2026-11-02T10:15:00Z",
                     *           "used_at": null
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        approvals: components["schemas"]["Approval"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getApproval: {
        parameters: {
            query?: {
                /** @description Seconds to hold the answer while the approval is pending (0-30, default 0). */
                wait?: number;
            };
            header?: never;
            path: {
                /** @description The approval's `apr_` id. */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The approval. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "key": "gwk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "action": "payments.refund",
                     *       "method": "POST",
                     *       "path": "/v1/refunds",
                     *       "cost_usd": 0.25,
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_version": 3,
                     *       "status": "approved",
                     *       "reason": null,
                     *       "decided_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "decided_at": "2026-11-02T10:03:00Z",
                     *       "expires_at": "2026-11-02T10:18:00Z",
                     *       "used_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["Approval"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description This instance holds as many waits as it allows; retry after `Retry-After` seconds. */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "rate_limited",
                     *       "message": "Too many approvals are being waited for; retry in 1 second.",
                     *       "code": "APPROVAL_WAITS_EXHAUSTED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    approveApproval: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The approval's `apr_` id. */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "reason": "Refund confirmed with the customer"
                 *     }
                 */
                "application/json": {
                    reason?: string;
                };
            };
        };
        responses: {
            /** @description The decided approval. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "key": "gwk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "action": "payments.refund",
                     *       "method": "POST",
                     *       "path": "/v1/refunds",
                     *       "cost_usd": 0.25,
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_version": 3,
                     *       "status": "approved",
                     *       "reason": null,
                     *       "decided_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "decided_at": "2026-11-02T10:03:00Z",
                     *       "expires_at": "2026-11-02T10:18:00Z",
                     *       "used_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["Approval"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    denyApproval: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The approval's `apr_` id. */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "reason": "Not during the freeze"
                 *     }
                 */
                "application/json": {
                    reason?: string;
                };
            };
        };
        responses: {
            /** @description The decided approval. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "key": "gwk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "action": "payments.refund",
                     *       "method": "POST",
                     *       "path": "/v1/refunds",
                     *       "cost_usd": 0.25,
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_version": 3,
                     *       "status": "denied",
                     *       "reason": "Not during the freeze",
                     *       "decided_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "decided_at": "2026-11-02T10:03:00Z",
                     *       "expires_at": "2026-11-02T10:15:00Z",
                     *       "used_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["Approval"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listArgocdEndpoints: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of Argo CD endpoints. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "argocd_endpoints": [
                     *         {
                     *           "id": "argo_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "prod-argocd",
                     *           "base_url": "https://argocd.example.com",
                     *           "enabled": true,
                     *           "token_last_four": "Qz9x",
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "updated_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        argocd_endpoints: components["schemas"]["ArgocdEndpoint"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createArgocdEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "prod-argocd",
                 *       "base_url": "https://argocd.example.com",
                 *       "token": "eyJhbGciOiJIUzI1NiJ9.example-not-a-real-token.Qz9x"
                 *     }
                 */
                "application/json": {
                    base_url: string;
                    name: string;
                    /** @description The Argo CD API token (a JWT); write-only. */
                    token: string;
                };
            };
        };
        responses: {
            /** @description The new endpoint (without its token). */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "argo_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "prod-argocd",
                     *       "base_url": "https://argocd.example.com",
                     *       "enabled": true,
                     *       "token_last_four": "Qz9x",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["ArgocdEndpoint"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteArgocdEndpoint: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The Argo CD endpoint's id (`argo_…`). */
                id: components["parameters"]["ArgocdEndpointIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listArgocdDiscoveredApps: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The Argo CD endpoint's id (`argo_…`). */
                id: components["parameters"]["ArgocdEndpointIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The applications, in Argo CD's order. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "argocd_endpoint_id": "argo_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "applications": [
                     *         {
                     *           "name": "payments-api",
                     *           "namespace": "argocd",
                     *           "project": "payments",
                     *           "sync_status": "Synced",
                     *           "health_status": "Healthy",
                     *           "revision": "9f2c1e7b4a",
                     *           "operation_phase": "Succeeded",
                     *           "operation_finished_at": "2026-11-24T09:00:12Z",
                     *           "reconciled_at": "2026-11-24T09:02:00Z",
                     *           "destination": {
                     *             "server": "https://kubernetes.default.svc",
                     *             "name": null,
                     *             "namespace": "payments"
                     *           },
                     *           "mapped": true
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        applications: components["schemas"]["ArgocdApplication"][];
                        argocd_endpoint_id: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setArgocdEndpointEnabled: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The Argo CD endpoint's id (`argo_…`). */
                id: components["parameters"]["ArgocdEndpointIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "enabled": false
                 *     }
                 */
                "application/json": {
                    enabled: boolean;
                };
            };
        };
        responses: {
            /** @description The endpoint as it is now. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "argo_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "prod-argocd",
                     *       "base_url": "https://argocd.example.com",
                     *       "enabled": true,
                     *       "token_last_four": "Qz9x",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["ArgocdEndpoint"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listAuditEvents: {
        parameters: {
            query?: {
                /** @description Events of this action. */
                action?: string;
                /** @description Events by this actor id. */
                actor?: string;
                /** @description Events of this request id. */
                correlation_id?: string;
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Events about this resource id. */
                resource?: string;
                /** @description Events at or after this time. */
                since?: string;
                /** @description Events before this time. */
                until?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of events. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "events": [
                     *         {
                     *           "id": "evt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "seq": 42,
                     *           "occurred_at": "2026-11-24T18:00:00.123Z",
                     *           "actor_type": "api_key",
                     *           "actor_id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "action": "workspace.updated",
                     *           "resource_type": "workspace",
                     *           "resource_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "outcome": "success",
                     *           "request_id": "req_8f14e45fceea167a5a36dedd4bea2543",
                     *           "ip": "127.0.0.1",
                     *           "user_agent": "curl/8.5.0",
                     *           "details": {
                     *             "operation_id": "updateWorkspace",
                     *             "status": 200
                     *           },
                     *           "prev_hash": "9f2c6a0d3e1b4f5a6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3",
                     *           "hash": "3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060504"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        events: components["schemas"]["AuditEvent"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listAuditLogs: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description The org whose events to list, or `platform`; defaults to the caller's. */
                organization_id?: components["schemas"]["AuditChainId"];
                /** @description Only events of this workspace. */
                workspace_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of events. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "events": [
                     *         {
                     *           "id": "evt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "seq": 42,
                     *           "occurred_at": "2026-11-24T18:00:00.123Z",
                     *           "actor_type": "api_key",
                     *           "actor_id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "action": "workspace.updated",
                     *           "resource_type": "workspace",
                     *           "resource_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "outcome": "success",
                     *           "request_id": "req_8f14e45fceea167a5a36dedd4bea2543",
                     *           "ip": "127.0.0.1",
                     *           "user_agent": "curl/8.5.0",
                     *           "details": {
                     *             "operation_id": "updateWorkspace",
                     *             "status": 200
                     *           },
                     *           "prev_hash": "9f2c6a0d3e1b4f5a6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3",
                     *           "hash": "3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060504"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        events: components["schemas"]["AuditEvent"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    exportAuditLogsToDatadog: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "organization_id": "org_abc123",
                 *       "workspace_id": "ws_abc123",
                 *       "event_type": "policy.updated",
                 *       "limit": 250,
                 *       "api_key": "dd_api_key_optional_if_server_env_is_set",
                 *       "intake_url": "https://http-intake.logs.datadoghq.com/api/v2/logs",
                 *       "service": "sekuire.audit",
                 *       "source": "sekuire",
                 *       "tags": [
                 *         "env:prod",
                 *         "team:secops"
                 *       ]
                 *     }
                 */
                "application/json": {
                    /** @description Datadog API key; optional when the server has `DATADOG_API_KEY`. Never stored or logged. */
                    api_key?: string;
                    /** @description Only events of this action (e.g. `workspace.updated`). */
                    event_type?: string;
                    intake_url?: components["schemas"]["SiemIntakeUrl"];
                    /**
                     * Format: int32
                     * @description How many of the newest matching events to send.
                     * @default 100
                     */
                    limit?: number;
                    organization_id?: components["schemas"]["AuditChainId"];
                    /** @default warden.audit */
                    service?: string;
                    /**
                     * @description Sent as `ddsource`.
                     * @default warden
                     */
                    source?: string;
                    tags?: components["schemas"]["SiemTags"];
                    /** @description Only events of this workspace. */
                    workspace_id?: string;
                };
            };
        };
        responses: {
            200: components["responses"]["SiemExported"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    exportAuditLogsToPagerDuty: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "organization_id": "org_abc123",
                 *       "workspace_id": "ws_abc123",
                 *       "event_type": "policy.updated",
                 *       "limit": 100,
                 *       "routing_key": "pd_routing_key_optional_if_server_env_is_set",
                 *       "intake_url": "https://events.pagerduty.com/v2/enqueue",
                 *       "event_action": "trigger",
                 *       "source": "sekuire.audit",
                 *       "severity": "info",
                 *       "component": "agent-control-plane",
                 *       "group": "governance",
                 *       "class": "audit",
                 *       "dedup_key_prefix": "sekuire-audit",
                 *       "tags": [
                 *         "env:prod",
                 *         "team:secops"
                 *       ]
                 *     }
                 */
                "application/json": {
                    class?: string;
                    component?: string;
                    /** @default warden-audit */
                    dedup_key_prefix?: string;
                    /**
                     * @default trigger
                     * @enum {string}
                     */
                    event_action?: "trigger" | "acknowledge" | "resolve";
                    /** @description Only events of this action (e.g. `workspace.updated`). */
                    event_type?: string;
                    group?: string;
                    intake_url?: components["schemas"]["SiemIntakeUrl"];
                    /**
                     * Format: int32
                     * @description How many of the newest matching events to send (one request each).
                     * @default 50
                     */
                    limit?: number;
                    organization_id?: components["schemas"]["AuditChainId"];
                    /** @description PagerDuty integration (routing) key; optional when the server has `PAGERDUTY_ROUTING_KEY`. Never stored or logged. */
                    routing_key?: string;
                    /**
                     * @default info
                     * @enum {string}
                     */
                    severity?: "critical" | "error" | "warning" | "info";
                    /** @default warden.audit */
                    source?: string;
                    tags?: components["schemas"]["SiemTags"];
                    /** @description Only events of this workspace. */
                    workspace_id?: string;
                };
            };
        };
        responses: {
            200: components["responses"]["SiemExported"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    exportAuditLogsToSplunk: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "organization_id": "org_abc123",
                 *       "workspace_id": "ws_abc123",
                 *       "event_type": "policy.updated",
                 *       "limit": 250,
                 *       "hec_token": "splunk_hec_token_optional_if_server_env_is_set",
                 *       "intake_url": "https://splunk.example.com:8088/services/collector",
                 *       "source": "sekuire:audit",
                 *       "sourcetype": "_json",
                 *       "host": "api-node-1",
                 *       "index": "main",
                 *       "tags": [
                 *         "env:prod",
                 *         "team:secops"
                 *       ]
                 *     }
                 */
                "application/json": {
                    /** @description Only events of this action (e.g. `workspace.updated`). */
                    event_type?: string;
                    /** @description Splunk HEC token; optional when the server has `SPLUNK_HEC_TOKEN`. Never stored or logged. */
                    hec_token?: string;
                    /** @default warden */
                    host?: string;
                    index?: string;
                    intake_url?: components["schemas"]["SiemIntakeUrl"];
                    /**
                     * Format: int32
                     * @description How many of the newest matching events to send.
                     * @default 100
                     */
                    limit?: number;
                    organization_id?: components["schemas"]["AuditChainId"];
                    /** @default warden:audit */
                    source?: string;
                    /** @default _json */
                    sourcetype?: string;
                    tags?: components["schemas"]["SiemTags"];
                    /** @description Only events of this workspace. */
                    workspace_id?: string;
                };
            };
        };
        responses: {
            200: components["responses"]["SiemExported"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    exportAuditCsv: {
        parameters: {
            query?: {
                /** @description Events of this action. */
                action?: string;
                /** @description Events by this actor id. */
                actor?: string;
                /** @description Events of this request id. */
                correlation_id?: string;
                /** @description The org whose events to export, or `platform` (platform admins); defaults to the caller's. */
                org_id?: components["schemas"]["AuditChainId"];
                /** @description Events about this resource id. */
                resource?: string;
                /** @description Events at or after this time. */
                since?: string;
                /** @description Events before this time. */
                until?: string;
                /** @description Only events of this workspace. */
                workspace_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The events as CSV. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example id,org_id,seq,occurred_at,actor_type,actor_id,workspace_id,action,resource_type,resource_id,outcome,request_id,ip,user_agent,details,prev_hash,hash
                     *     evt_01jd4v3k8m2q6r9t1w5y7z0abc,org_01jd4v3k8m2q6r9t1w5y7z0abc,1,2026-11-24T18:00:00.123Z,api_key,key_01jd4v3k8m2q6r9t1w5y7z0abc,ws_01jd4v3k8m2q6r9t1w5y7z0abc,workspace.created,workspace,ws_01jd4v3k8m2q6r9t1w5y7z0abc,success,req_8f14e45fceea167a5a36dedd4bea2543,127.0.0.1,curl/8.5.0,"{""operation_id"":""createWorkspace"",""status"":201}",0000000000000000000000000000000000000000000000000000000000000000,3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060504
                     */
                    "text/csv": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    exportAuditJsonl: {
        parameters: {
            query?: {
                /** @description Events of this action. */
                action?: string;
                /** @description Events by this actor id. */
                actor?: string;
                /** @description Events of this request id. */
                correlation_id?: string;
                /** @description The org whose events to export, or `platform` (platform admins); defaults to the caller's. */
                org_id?: components["schemas"]["AuditChainId"];
                /** @description Events about this resource id. */
                resource?: string;
                /** @description Events at or after this time. */
                since?: string;
                /** @description Events before this time. */
                until?: string;
                /** @description Only events of this workspace. */
                workspace_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The events, one JSON object per line. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"action":"workspace.created","actor_id":"key_01jd4v3k8m2q6r9t1w5y7z0abc","actor_type":"api_key","details":{"operation_id":"createWorkspace","status":201},"hash":"3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817060504","id":"evt_01jd4v3k8m2q6r9t1w5y7z0abc","ip":"127.0.0.1","occurred_at":"2026-11-24T18:00:00.123Z","org_id":"org_01jd4v3k8m2q6r9t1w5y7z0abc","outcome":"success","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","request_id":"req_8f14e45fceea167a5a36dedd4bea2543","resource_id":"ws_01jd4v3k8m2q6r9t1w5y7z0abc","resource_type":"workspace","seq":1,"user_agent":"curl/8.5.0","workspace_id":"ws_01jd4v3k8m2q6r9t1w5y7z0abc"} */
                    "application/x-ndjson": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    verifyAuditChain: {
        parameters: {
            query?: {
                /** @description The org whose chain to verify, or `platform`; defaults to the caller's. */
                organization_id?: components["schemas"]["AuditChainId"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The verdict. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "valid": false,
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "events_checked": 41,
                     *       "head_seq": 57,
                     *       "first_broken_seq": 42,
                     *       "reason": "edited",
                     *       "checkpoint": null
                     *     }
                     */
                    "application/json": components["schemas"]["ChainVerification"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    login: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "jane@example.com",
                 *       "password": "correct horse battery staple"
                 *     }
                 */
                "application/json": {
                    /** Format: email */
                    email: string;
                    password: string;
                };
            };
        };
        responses: {
            /** @description Logged in. */
            200: {
                headers: {
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMDFqZDR2M2s4bSIsImp0aSI6InNlc18wMWpkNHYzazhtIn0.c2lnbmF0dXJl",
                     *       "expires_at": "2026-11-24T18:30:00Z",
                     *       "user": {
                     *         "id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "email": "jane@example.com",
                     *         "role": "owner",
                     *         "email_verified": true,
                     *         "email_verified_at": "2026-11-01T09:00:00Z",
                     *         "created_at": "2026-11-01T08:59:00Z",
                     *         "last_login_at": "2026-11-24T18:00:00Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LoginResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    logout: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The session is revoked. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "revoked": true
                     *     }
                     */
                    "application/json": {
                        revoked: boolean;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    completeMagicLink: {
        parameters: {
            query: {
                /** @description The single-use token from the emailed link. */
                token: components["parameters"]["LinkToken"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Logged in. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMDFqZDR2M2s4bSIsImp0aSI6InNlc18wMWpkNHYzazhtIn0.c2lnbmF0dXJl",
                     *       "expires_at": "2026-11-24T18:30:00Z",
                     *       "user": {
                     *         "id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "email": "jane@example.com",
                     *         "role": "owner",
                     *         "email_verified": false,
                     *         "email_verified_at": null,
                     *         "created_at": "2026-11-24T18:00:00Z",
                     *         "last_login_at": "2026-11-24T18:00:00Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LoginResult"];
                };
            };
            /** @description Logged in; the browser goes on to the redirect URL with the JWT in its fragment. */
            302: {
                headers: {
                    /** @description The redirect URL with `#token=<jwt>`. */
                    Location?: string;
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    startMagicLink: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "jane@example.com",
                 *       "redirect_url": "https://console.example.com/auth/done"
                 *     }
                 */
                "application/json": {
                    /** Format: email */
                    email: string;
                    redirect_url?: components["schemas"]["RedirectUrl"];
                };
            };
        };
        responses: {
            /** @description A link is on its way (if the email is a user's). */
            200: {
                headers: {
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "delivery": "email",
                     *       "expires_at": "2026-11-24T18:15:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["EmailDelivery"];
                };
            };
            400: components["responses"]["BadRequest"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getCurrentPrincipal: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "type": "api_key",
                     *       "org": {
                     *         "id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "name": "Acme Corp",
                     *         "plan": "starter",
                     *         "created_at": "2026-11-01T08:59:00Z"
                     *       },
                     *       "user": {
                     *         "id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "email": "dev@example.com",
                     *         "role": "admin",
                     *         "email_verified": true,
                     *         "email_verified_at": "2026-11-01T09:00:00Z",
                     *         "created_at": "2026-11-01T08:59:00Z",
                     *         "last_login_at": null
                     *       },
                     *       "api_key": {
                     *         "id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "name": "CLI",
                     *         "mode": "live",
                     *         "prefix": "sk_live_1hSY",
                     *         "expires_at": "2027-05-23T09:00:00Z"
                     *       },
                     *       "roles": [],
                     *       "permissions": [
                     *         "workspace.read",
                     *         "org.read"
                     *       ],
                     *       "expires_at": "2027-05-23T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Principal"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    completeOidcLogin: {
        parameters: {
            query?: {
                /** @description The authorization code. */
                code?: string;
                /** @description The provider's error code (e.g. `access_denied`) when it did not sign the user in. */
                error?: string;
                error_description?: string;
                /** @description The provider's issuer identifier (RFC 9207), checked against `OIDC_ISSUER` when sent. */
                iss?: string;
                /** @description Any other parameters the provider adds to its answer (`session_state`, `scope`, `authuser`, …). */
                provider_parameters?: {
                    [key: string]: string;
                };
                /** @description The `state` Warden sent with the authorization request. */
                state?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Signed in (the attempt had no `redirect_url`). */
            200: {
                headers: {
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMDFqZDR2M2s4bSIsImp0aSI6InNlc18wMWpkNHYzazhtIn0.c2lnbmF0dXJl",
                     *       "expires_at": "2026-11-24T18:30:00Z",
                     *       "user": {
                     *         "id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "email": "jane@example.com",
                     *         "role": "member",
                     *         "email_verified": true,
                     *         "email_verified_at": "2026-11-24T18:00:00Z",
                     *         "created_at": "2026-11-24T18:00:00Z",
                     *         "last_login_at": "2026-11-24T18:00:00Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LoginResult"];
                };
            };
            /** @description Signed in; the browser goes on to the redirect URL with the JWT in its fragment. */
            302: {
                headers: {
                    /**
                     * @description The redirect URL with `#token=<jwt>`.
                     * @example https://console.example.com/auth/done#token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMDFqZDR2M2s4bSJ9.c2lnbmF0dXJl
                     */
                    Location?: string;
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The callback names no sign-in attempt Warden is waiting for (state missing, unknown, used or expired). */
            400: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "invalid_request",
                     *       "message": "This sign-in attempt has already been used; start again.",
                     *       "code": "OIDC_STATE_USED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            /** @description The provider did not sign the user in, refused the code, or its answer failed validation. */
            401: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "unauthorized",
                     *       "message": "The identity provider's answer failed validation: unexpected ID Token \"nonce\" claim value.",
                     *       "code": "OIDC_RESPONSE_INVALID",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            402: components["responses"]["PaymentRequired"];
            /** @description The provider vouches for no verified email, the email's domain is not allowed, or the claims map to no org. */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "forbidden",
                     *       "message": "Sign-in with an email at gmail.com is not allowed here.",
                     *       "code": "OIDC_EMAIL_DOMAIN_NOT_ALLOWED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            /** @description Single sign-on is not configured on this Warden. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "not_found",
                     *       "message": "Single sign-on is not configured on this Warden.",
                     *       "code": "OIDC_NOT_CONFIGURED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            /** @description The OpenID provider could not be reached (discovery, keys, token or userinfo endpoint). */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "bad_gateway",
                     *       "message": "The identity provider could not be reached: ECONNREFUSED.",
                     *       "code": "OIDC_PROVIDER_UNAVAILABLE",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getOidcStatus: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Whether SSO is configured. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["OidcStatus"];
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
        };
    };
    startOidcLogin: {
        parameters: {
            query?: {
                /**
                 * @description Where to send the browser after signing in, with the login JWT in the fragment (`#token=…`).
                 * @example https://console.example.com/auth/done
                 */
                redirect_url?: components["schemas"]["RedirectUrl"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The authorization URL, for a caller that asked for JSON (`Accept: application/json`). */
            200: {
                headers: {
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "authorization_url": "https://idp.example.com/authorize?response_type=code&client_id=warden&state=k3J9xQ&nonce=Zp4sT1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
                     *       "expires_at": "2026-11-24T18:10:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["OidcAuthorization"];
                };
            };
            /** @description On to the provider's authorization endpoint. */
            302: {
                headers: {
                    /**
                     * @description The provider's authorization URL with `client_id`, `redirect_uri`, `scope`, `state`, `nonce` and `code_challenge`.
                     * @example https://idp.example.com/authorize?response_type=code&client_id=warden&redirect_uri=https%3A%2F%2Fwarden.example.com%2Fapi%2Fv1%2Fauth%2Foidc%2Fcallback&scope=openid+email+profile&state=k3J9xQ&nonce=Zp4sT1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256
                     */
                    Location?: string;
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            /** @description Single sign-on is not configured on this Warden. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "not_found",
                     *       "message": "Single sign-on is not configured on this Warden.",
                     *       "code": "OIDC_NOT_CONFIGURED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            /** @description The OpenID provider's discovery document could not be read. */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "bad_gateway",
                     *       "message": "The identity provider could not be reached: ECONNREFUSED.",
                     *       "code": "OIDC_PROVIDER_UNAVAILABLE",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    signup: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "org_name": "Acme Corp",
                 *       "email": "jane@example.com",
                 *       "password": "correct horse battery staple",
                 *       "idempotency_key": "signup-7f3c2a91"
                 *     }
                 */
                "application/json": {
                    create_wallet?: boolean;
                    daily_budget_usd?: number;
                    /** Format: email */
                    email: string;
                    idempotency_key?: string;
                    /** @description The ledger network of the wallet, e.g. `base`. */
                    network?: string;
                    /** @description Defaults to the email's domain. */
                    org_name?: string;
                    password: string;
                    redirect_url?: components["schemas"]["RedirectUrl"];
                    /** Format: email */
                    stripe_email?: string;
                };
            };
        };
        responses: {
            /** @description The new org and owner, logged in. */
            201: {
                headers: {
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMDFqZDR2M2s4bSIsImp0aSI6InNlc18wMWpkNHYzazhtIn0.c2lnbmF0dXJl",
                     *       "expires_at": "2026-11-24T18:30:00Z",
                     *       "user": {
                     *         "id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "email": "jane@example.com",
                     *         "role": "owner",
                     *         "email_verified": false,
                     *         "email_verified_at": null,
                     *         "created_at": "2026-11-24T18:00:00Z",
                     *         "last_login_at": "2026-11-24T18:00:00Z"
                     *       },
                     *       "org": {
                     *         "id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "name": "Acme Corp",
                     *         "plan": "free",
                     *         "created_at": "2026-11-24T18:00:00Z"
                     *       },
                     *       "email_verification": {
                     *         "delivery": "email",
                     *         "expires_at": "2026-11-25T18:00:00Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LoginResult"] & {
                        email_verification: components["schemas"]["EmailDelivery"];
                        org: components["schemas"]["Org"];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    completeEmailVerification: {
        parameters: {
            query: {
                /** @description The single-use token from the emailed link. */
                token: components["parameters"]["LinkToken"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Verified and logged in. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfMDFqZDR2M2s4bSIsImp0aSI6InNlc18wMWpkNHYzazhtIn0.c2lnbmF0dXJl",
                     *       "expires_at": "2026-11-24T18:30:00Z",
                     *       "user": {
                     *         "id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "email": "jane@example.com",
                     *         "role": "owner",
                     *         "email_verified": false,
                     *         "email_verified_at": null,
                     *         "created_at": "2026-11-24T18:00:00Z",
                     *         "last_login_at": "2026-11-24T18:00:00Z"
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["LoginResult"];
                };
            };
            /** @description Verified; the browser goes on to the redirect URL with the JWT in its fragment. */
            302: {
                headers: {
                    /** @description The redirect URL with `#token=<jwt>`. */
                    Location?: string;
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    startEmailVerification: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "redirect_url": "https://console.example.com/verified"
                 *     }
                 */
                "application/json": {
                    redirect_url?: components["schemas"]["RedirectUrl"];
                };
            };
        };
        responses: {
            /** @description A link is on its way. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "delivery": "email",
                     *       "expires_at": "2026-11-25T18:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["EmailDelivery"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listBillingEvents: {
        parameters: {
            query?: {
                /** @description Only this agent's events. */
                agent_id?: string;
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Whose events; defaults to the caller's org. */
                org_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of billing events. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "events": [
                     *         {
                     *           "id": "bev_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "request_id": "req_8f14e45fceea167a5a36dedd4bea2543",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "key": "gk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "action": "chat.completions",
                     *           "allow": true,
                     *           "status_code": 200,
                     *           "authorized_cost_usd": 0.25,
                     *           "cost_usd": 0.2,
                     *           "fee_usd": 0.005,
                     *           "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "policy_version": 3,
                     *           "deny_reason": null,
                     *           "metering_source": "vendor",
                     *           "timestamp": "2026-11-24T18:00:00.123Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        events: components["schemas"]["BillingEvent"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getBillingSettings: {
        parameters: {
            query?: {
                /** @description Whose settings; defaults to the caller's org. */
                org_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The settings. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "stripe_customer_id": "cus_QabcdEFGhijKL",
                     *       "billing_email": "billing@example.com",
                     *       "monthly_retainer_usd": 500,
                     *       "currency": "usd",
                     *       "collection_method": "send_invoice",
                     *       "days_until_due": 30,
                     *       "stripe_enabled": true,
                     *       "take_rate_bps": 250,
                     *       "fee_mode": "take_rate",
                     *       "fee_per_action_usd": 0,
                     *       "updated_at": "2026-11-24T18:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["BillingSettings"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateBillingSettings: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "billing_email": "billing@example.com",
                 *       "collection_method": "send_invoice",
                 *       "days_until_due": 30
                 *     }
                 */
                "application/json": {
                    /** Format: email */
                    billing_email?: string | null;
                    collection_method?: components["schemas"]["CollectionMethod"];
                    /** @enum {string} */
                    currency?: "usd";
                    /** Format: int32 */
                    days_until_due?: number;
                    fee_mode?: components["schemas"]["FeeMode"];
                    fee_per_action_usd?: number;
                    monthly_retainer_usd?: number;
                    org_id?: string;
                    stripe_customer_id?: string | null;
                    stripe_enabled?: boolean;
                    /** Format: int32 */
                    take_rate_bps?: number;
                };
            };
        };
        responses: {
            /** @description The settings now in force. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "stripe_customer_id": "cus_QabcdEFGhijKL",
                     *       "billing_email": "billing@example.com",
                     *       "monthly_retainer_usd": 500,
                     *       "currency": "usd",
                     *       "collection_method": "send_invoice",
                     *       "days_until_due": 30,
                     *       "stripe_enabled": true,
                     *       "take_rate_bps": 250,
                     *       "fee_mode": "take_rate",
                     *       "fee_per_action_usd": 0,
                     *       "updated_at": "2026-11-24T18:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["BillingSettings"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description The `stripe_customer_id` given is attached to another org (`STRIPE_CUSTOMER_UNAVAILABLE`). */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "conflict",
                     *       "message": "This Stripe customer cannot be attached to this org.",
                     *       "code": "STRIPE_CUSTOMER_UNAVAILABLE",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createStripeCustomer: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Acme Corp",
                 *       "email": "billing@example.com"
                 *     }
                 */
                "application/json": {
                    /**
                     * Format: email
                     * @description Defaults to the billing email.
                     */
                    email?: string;
                    /** @description Defaults to the org's name. */
                    name?: string;
                    org_id?: string;
                };
            };
        };
        responses: {
            /** @description The org's customer (`created` says whether this call created it). */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "stripe_customer_id": "cus_QabcdEFGhijKL",
                     *       "created": true
                     *     }
                     */
                    "application/json": {
                        created: boolean;
                        org_id: string;
                        stripe_customer_id: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            /** @description Stripe refused the request or could not be reached, or Warden's outbound rules refuse `STRIPE_API_BASE` (not https, or a private address not in `OUTBOUND_ALLOWED_HOSTS`; then nothing is sent); nothing was recorded. */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "bad_gateway",
                     *       "message": "Stripe refused the request: No such customer.",
                     *       "code": "STRIPE_ERROR",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            /** @description Stripe is not configured (`STRIPE_SECRET_KEY`), or the database is unavailable. */
            503: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "service_unavailable",
                     *       "message": "Stripe is not configured on this server (STRIPE_SECRET_KEY).",
                     *       "code": "STRIPE_NOT_CONFIGURED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
        };
    };
    createStripeInvoice: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "from": "2026-11-01",
                 *       "to": "2026-12-01",
                 *       "collection_method": "send_invoice",
                 *       "days_until_due": 30
                 *     }
                 */
                "application/json": {
                    collection_method?: components["schemas"]["CollectionMethod"];
                    /** Format: int32 */
                    days_until_due?: number;
                    from: string;
                    org_id?: string;
                    to: string;
                };
            };
        };
        responses: {
            /** @description The period was invoiced before; its invoice. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "inv_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "stripe_invoice_id": "in_1QabcdEFGhijKLmn",
                     *       "stripe_customer_id": "cus_QabcdEFGhijKL",
                     *       "period_from": "2026-11-01T00:00:00.000Z",
                     *       "period_to": "2026-12-01T00:00:00.000Z",
                     *       "amount_due_usd": 507.82,
                     *       "currency": "usd",
                     *       "status": "open",
                     *       "hosted_invoice_url": "https://invoice.stripe.com/i/acct_123/test_abc",
                     *       "line_count": 3,
                     *       "created_at": "2026-12-01T09:00:00.000Z",
                     *       "updated_at": "2026-12-01T09:00:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["StripeInvoice"];
                };
            };
            /** @description The invoice, created and finalized. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "inv_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "stripe_invoice_id": "in_1QabcdEFGhijKLmn",
                     *       "stripe_customer_id": "cus_QabcdEFGhijKL",
                     *       "period_from": "2026-11-01T00:00:00.000Z",
                     *       "period_to": "2026-12-01T00:00:00.000Z",
                     *       "amount_due_usd": 507.82,
                     *       "currency": "usd",
                     *       "status": "open",
                     *       "hosted_invoice_url": "https://invoice.stripe.com/i/acct_123/test_abc",
                     *       "line_count": 3,
                     *       "created_at": "2026-12-01T09:00:00.000Z",
                     *       "updated_at": "2026-12-01T09:00:00.000Z"
                     *     }
                     */
                    "application/json": components["schemas"]["StripeInvoice"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description The org has no Stripe customer yet, or Stripe is disabled in its settings. */
            409: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "conflict",
                     *       "message": "The org has no Stripe customer: create one first (POST /api/v1/billing/stripe/customer).",
                     *       "code": "STRIPE_CUSTOMER_REQUIRED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            /** @description Stripe refused the request or could not be reached, or Warden's outbound rules refuse `STRIPE_API_BASE` (nothing is sent); a retry continues the same invoice. */
            502: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "bad_gateway",
                     *       "message": "Stripe refused the request: No such customer.",
                     *       "code": "STRIPE_ERROR",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            /** @description Stripe is not configured (`STRIPE_SECRET_KEY`), or the database is unavailable. */
            503: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "service_unavailable",
                     *       "message": "Stripe is not configured on this server (STRIPE_SECRET_KEY).",
                     *       "code": "STRIPE_NOT_CONFIGURED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
        };
    };
    listStripeInvoices: {
        parameters: {
            query?: {
                /** @description At most this many (default 50). */
                limit?: number;
                /** @description Whose invoices; defaults to the caller's org. */
                org_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The invoices. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "invoices": [
                     *         {
                     *           "id": "inv_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "stripe_invoice_id": "in_1QabcdEFGhijKLmn",
                     *           "stripe_customer_id": "cus_QabcdEFGhijKL",
                     *           "period_from": "2026-11-01T00:00:00.000Z",
                     *           "period_to": "2026-12-01T00:00:00.000Z",
                     *           "amount_due_usd": 507.82,
                     *           "currency": "usd",
                     *           "status": "paid",
                     *           "hosted_invoice_url": "https://invoice.stripe.com/i/acct_123/test_abc",
                     *           "line_count": 3,
                     *           "created_at": "2026-12-01T09:00:00.000Z",
                     *           "updated_at": "2026-12-03T10:00:00.000Z"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        invoices: components["schemas"]["StripeInvoice"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    receiveStripeWebhook: {
        parameters: {
            query?: never;
            header?: {
                /** @description Stripe's signature of the body (without it: 400). */
                "Stripe-Signature"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "id": "evt_1QabcdEFGhijKL",
                 *       "type": "invoice.paid",
                 *       "data": {
                 *         "object": {
                 *           "id": "in_1QabcdEFGhijKLmn",
                 *           "object": "invoice",
                 *           "customer": "cus_QabcdEFGhijKL"
                 *         }
                 *       }
                 *     }
                 */
                "application/json": {
                    data: {
                        /** @description Stripe's object the event is about. */
                        object?: {
                            [key: string]: unknown;
                        };
                    } & {
                        [key: string]: unknown;
                    };
                    id: string;
                    type: string;
                };
            };
        };
        responses: {
            /** @description The event was verified and recorded (or had been before). */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "received": true,
                     *       "duplicate": false
                     *     }
                     */
                    "application/json": {
                        duplicate: boolean;
                        received: boolean;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
            /** @description The webhook secret is not configured (`STRIPE_WEBHOOK_SECRET`), or the database is unavailable. */
            503: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "service_unavailable",
                     *       "message": "Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET).",
                     *       "code": "STRIPE_NOT_CONFIGURED",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
        };
    };
    getBillingSummary: {
        parameters: {
            query?: {
                /** @description Only this agent's usage. */
                agent_id?: string;
                /** @description Start of the range (inclusive). */
                from?: string;
                /** @description Whose usage; defaults to the caller's org. */
                org_id?: string;
                /** @description End of the range (exclusive). */
                to?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The usage summary. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "from": "2026-11-01T00:00:00.000Z",
                     *       "to": "2026-12-01T00:00:00.000Z",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": null,
                     *       "total_events": 1250,
                     *       "allowed_events": 1200,
                     *       "denied_events": 50,
                     *       "total_cost_usd": 312.5,
                     *       "total_fee_usd": 7.8125,
                     *       "take_rate_bps": 250,
                     *       "fee_mode": "take_rate",
                     *       "fee_per_action_usd": 0
                     *     }
                     */
                    "application/json": components["schemas"]["BillingSummary"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description `from` is not before `to`, or the range is longer than 366 days. */
            422: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "validation_failed",
                     *       "message": "from must be before to.",
                     *       "code": "INVALID_TIME_RANGE",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543",
                     *       "details": [
                     *         {
                     *           "location": "query",
                     *           "field": "from",
                     *           "message": "must be before to",
                     *           "rule": "range"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createDecision: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    /** @description What the agent does, e.g. `chat.completions`; defaults to `METHOD /path`. */
                    action?: string;
                    /** @description An approved approval to redeem for this call. */
                    approval_id?: string;
                    /** @description The cost the agent declares for the call; 0 when omitted. */
                    cost_usd?: number;
                    /** @enum {string} */
                    method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";
                    /** @description The path on the vendor, starting with `/`, as it will be sent. */
                    path: string;
                    /** @description The vendor called; with a gateway key it must be the key's vendor. */
                    vendor_id?: string;
                };
            };
        };
        responses: {
            /** @description The decision. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Decision"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setAuditRetention: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "audit_log_retention_days": 730
                 *     }
                 */
                "application/json": {
                    /** Format: int32 */
                    audit_log_retention_days: number;
                };
            };
        };
        responses: {
            /** @description The org's retention. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "org_id": "org_abc123",
                     *       "audit_log_retention_days": 730
                     *     }
                     */
                    "application/json": {
                        /** Format: int32 */
                        audit_log_retention_days: number;
                        org_id: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listOrgEnvironments: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Only this project's environments. */
                project_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of environments. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "environments": [
                     *         {
                     *           "id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "production",
                     *           "created_at": "2026-11-24T18:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        environments: components["schemas"]["Environment"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createProjectEnvironment: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "name": "production"
                 *     }
                 */
                "application/json": {
                    name: string;
                    project_id: string;
                };
            };
        };
        responses: {
            /** @description The new environment. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "production",
                     *       "created_at": "2026-11-24T18:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Environment"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteProjectEnvironment: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The environment's `env_` id. An environment of another org answers 404. */
                id: components["parameters"]["EnvironmentIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    gatewayGet: {
        parameters: {
            query?: {
                /** @description Any query parameters, forwarded to the vendor as sent. */
                query?: {
                    [key: string]: string | string[];
                };
            };
            header?: {
                /**
                 * @description The action the call performs, as policies name it (`allowed_actions`, `approval_actions`); defaults to
                 *     `METHOD /path`. Written as `METHOD /path`, it must be this call's method and path (400 `ACTION_MISMATCH`).
                 * @example chat.completions.create
                 */
                "X-Warden-Action"?: string;
                /**
                 * @description An approved approval (from an earlier 202) that lets exactly one matching call through (same method and path, cost at most the approved one).
                 * @example apr_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                "X-Warden-Approval-Id"?: string;
                /**
                 * @description The cost the agent declares for the call in USD, checked against `max_cost_per_request` and counted against the daily budget; 0 when absent.
                 * @example 0.25
                 */
                "X-Warden-Cost-Usd"?: string;
            };
            path: {
                /**
                 * @description The rest of the path, may contain `/`: one or more segments, forwarded as sent (percent-escapes
                 *     kept) after the vendor's `base_url`. A dot segment (`.` or `..`, percent-encoded or not) is
                 *     refused with 400 `GATEWAY_PATH_REFUSED`.
                 * @example v1/chat/completions
                 */
                path: string;
                /**
                 * @description The vendor the gateway key is bound to (`vnd_…`).
                 * @example vnd_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                vendor_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The vendor's answer, status, headers and body passed through as it sent them. */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"id":"chatcmpl-1","object":"chat.completion"} */
                    "*/*": string;
                };
            };
            /**
             * @description A policy asks a human to approve the call first: nothing was forwarded. Retry the same call
             *     with `X-Warden-Approval-Id` once the approval is approved (`GET /approvals/{id}`). A vendor's
             *     own 202 passes through as it came; Warden's carries the `X-Warden-Approval-Id` header.
             */
            202: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    /** @description The approval to wait for, as in the body. */
                    "X-Warden-Approval-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "approval_required",
                     *       "approval_id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_version": 3,
                     *       "expires_at": "2026-11-25T10:15:00Z",
                     *       "message": "A human must approve this call; retry it with X-Warden-Approval-Id once approved.",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayApprovalRequired"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            /**
             * @description The key's agent is killed, disabled or revoked (`CREDENTIAL_*`), a policy refuses the call
             *     (`POLICY_DENIED` with `deny_reason`, `policy_id`, `policy_version`), or the call would exceed
             *     the agent's daily budget (`BUDGET_EXCEEDED` with `budget_resets_at`).
             */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "forbidden",
                     *       "message": "The call would exceed the agent's daily budget.",
                     *       "code": "BUDGET_EXCEEDED",
                     *       "deny_reason": "budget_exceeded",
                     *       "policy_id": null,
                     *       "budget_resets_at": "2026-11-26T00:00:00Z",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayDenial"];
                };
            };
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
            /** @description Any other status the vendor answers with, passed through with its headers and body. */
            default: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"error":{"message":"Rate limit reached"}} */
                    "*/*": string;
                };
            };
        };
    };
    gatewayPut: {
        parameters: {
            query?: {
                /** @description Any query parameters, forwarded to the vendor as sent. */
                query?: {
                    [key: string]: string | string[];
                };
            };
            header?: {
                /**
                 * @description The action the call performs, as policies name it (`allowed_actions`, `approval_actions`); defaults to
                 *     `METHOD /path`. Written as `METHOD /path`, it must be this call's method and path (400 `ACTION_MISMATCH`).
                 * @example chat.completions.create
                 */
                "X-Warden-Action"?: string;
                /**
                 * @description An approved approval (from an earlier 202) that lets exactly one matching call through (same method and path, cost at most the approved one).
                 * @example apr_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                "X-Warden-Approval-Id"?: string;
                /**
                 * @description The cost the agent declares for the call in USD, checked against `max_cost_per_request` and counted against the daily budget; 0 when absent.
                 * @example 0.25
                 */
                "X-Warden-Cost-Usd"?: string;
            };
            path: {
                /**
                 * @description The rest of the path, may contain `/`: one or more segments, forwarded as sent (percent-escapes
                 *     kept) after the vendor's `base_url`. A dot segment (`.` or `..`, percent-encoded or not) is
                 *     refused with 400 `GATEWAY_PATH_REFUSED`.
                 * @example v1/chat/completions
                 */
                path: string;
                /**
                 * @description The vendor the gateway key is bound to (`vnd_…`).
                 * @example vnd_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                vendor_id: string;
            };
            cookie?: never;
        };
        /** @description Any content, of any type, streamed to the vendor as sent; Warden neither parses nor validates it. */
        requestBody?: {
            content: {
                /** @example {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]} */
                "*/*": string;
            };
        };
        responses: {
            /** @description The vendor's answer, status, headers and body passed through as it sent them. */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"id":"chatcmpl-1","object":"chat.completion"} */
                    "*/*": string;
                };
            };
            /**
             * @description A policy asks a human to approve the call first: nothing was forwarded. Retry the same call
             *     with `X-Warden-Approval-Id` once the approval is approved (`GET /approvals/{id}`). A vendor's
             *     own 202 passes through as it came; Warden's carries the `X-Warden-Approval-Id` header.
             */
            202: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    /** @description The approval to wait for, as in the body. */
                    "X-Warden-Approval-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "approval_required",
                     *       "approval_id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_version": 3,
                     *       "expires_at": "2026-11-25T10:15:00Z",
                     *       "message": "A human must approve this call; retry it with X-Warden-Approval-Id once approved.",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayApprovalRequired"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            /**
             * @description The key's agent is killed, disabled or revoked (`CREDENTIAL_*`), a policy refuses the call
             *     (`POLICY_DENIED` with `deny_reason`, `policy_id`, `policy_version`), or the call would exceed
             *     the agent's daily budget (`BUDGET_EXCEEDED` with `budget_resets_at`).
             */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "forbidden",
                     *       "message": "The call would exceed the agent's daily budget.",
                     *       "code": "BUDGET_EXCEEDED",
                     *       "deny_reason": "budget_exceeded",
                     *       "policy_id": null,
                     *       "budget_resets_at": "2026-11-26T00:00:00Z",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayDenial"];
                };
            };
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
            /** @description Any other status the vendor answers with, passed through with its headers and body. */
            default: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"error":{"message":"Rate limit reached"}} */
                    "*/*": string;
                };
            };
        };
    };
    gatewayPost: {
        parameters: {
            query?: {
                /** @description Any query parameters, forwarded to the vendor as sent. */
                query?: {
                    [key: string]: string | string[];
                };
            };
            header?: {
                /**
                 * @description The action the call performs, as policies name it (`allowed_actions`, `approval_actions`); defaults to
                 *     `METHOD /path`. Written as `METHOD /path`, it must be this call's method and path (400 `ACTION_MISMATCH`).
                 * @example chat.completions.create
                 */
                "X-Warden-Action"?: string;
                /**
                 * @description An approved approval (from an earlier 202) that lets exactly one matching call through (same method and path, cost at most the approved one).
                 * @example apr_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                "X-Warden-Approval-Id"?: string;
                /**
                 * @description The cost the agent declares for the call in USD, checked against `max_cost_per_request` and counted against the daily budget; 0 when absent.
                 * @example 0.25
                 */
                "X-Warden-Cost-Usd"?: string;
            };
            path: {
                /**
                 * @description The rest of the path, may contain `/`: one or more segments, forwarded as sent (percent-escapes
                 *     kept) after the vendor's `base_url`. A dot segment (`.` or `..`, percent-encoded or not) is
                 *     refused with 400 `GATEWAY_PATH_REFUSED`.
                 * @example v1/chat/completions
                 */
                path: string;
                /**
                 * @description The vendor the gateway key is bound to (`vnd_…`).
                 * @example vnd_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                vendor_id: string;
            };
            cookie?: never;
        };
        /** @description Any content, of any type, streamed to the vendor as sent; Warden neither parses nor validates it. */
        requestBody?: {
            content: {
                /** @example {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]} */
                "*/*": string;
            };
        };
        responses: {
            /** @description The vendor's answer, status, headers and body passed through as it sent them. */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"id":"chatcmpl-1","object":"chat.completion"} */
                    "*/*": string;
                };
            };
            /**
             * @description A policy asks a human to approve the call first: nothing was forwarded. Retry the same call
             *     with `X-Warden-Approval-Id` once the approval is approved (`GET /approvals/{id}`). A vendor's
             *     own 202 passes through as it came; Warden's carries the `X-Warden-Approval-Id` header.
             */
            202: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    /** @description The approval to wait for, as in the body. */
                    "X-Warden-Approval-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "approval_required",
                     *       "approval_id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_version": 3,
                     *       "expires_at": "2026-11-25T10:15:00Z",
                     *       "message": "A human must approve this call; retry it with X-Warden-Approval-Id once approved.",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayApprovalRequired"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            /**
             * @description The key's agent is killed, disabled or revoked (`CREDENTIAL_*`), a policy refuses the call
             *     (`POLICY_DENIED` with `deny_reason`, `policy_id`, `policy_version`), or the call would exceed
             *     the agent's daily budget (`BUDGET_EXCEEDED` with `budget_resets_at`).
             */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "forbidden",
                     *       "message": "The call would exceed the agent's daily budget.",
                     *       "code": "BUDGET_EXCEEDED",
                     *       "deny_reason": "budget_exceeded",
                     *       "policy_id": null,
                     *       "budget_resets_at": "2026-11-26T00:00:00Z",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayDenial"];
                };
            };
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
            /** @description Any other status the vendor answers with, passed through with its headers and body. */
            default: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"error":{"message":"Rate limit reached"}} */
                    "*/*": string;
                };
            };
        };
    };
    gatewayDelete: {
        parameters: {
            query?: {
                /** @description Any query parameters, forwarded to the vendor as sent. */
                query?: {
                    [key: string]: string | string[];
                };
            };
            header?: {
                /**
                 * @description The action the call performs, as policies name it (`allowed_actions`, `approval_actions`); defaults to
                 *     `METHOD /path`. Written as `METHOD /path`, it must be this call's method and path (400 `ACTION_MISMATCH`).
                 * @example chat.completions.create
                 */
                "X-Warden-Action"?: string;
                /**
                 * @description An approved approval (from an earlier 202) that lets exactly one matching call through (same method and path, cost at most the approved one).
                 * @example apr_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                "X-Warden-Approval-Id"?: string;
                /**
                 * @description The cost the agent declares for the call in USD, checked against `max_cost_per_request` and counted against the daily budget; 0 when absent.
                 * @example 0.25
                 */
                "X-Warden-Cost-Usd"?: string;
            };
            path: {
                /**
                 * @description The rest of the path, may contain `/`: one or more segments, forwarded as sent (percent-escapes
                 *     kept) after the vendor's `base_url`. A dot segment (`.` or `..`, percent-encoded or not) is
                 *     refused with 400 `GATEWAY_PATH_REFUSED`.
                 * @example v1/chat/completions
                 */
                path: string;
                /**
                 * @description The vendor the gateway key is bound to (`vnd_…`).
                 * @example vnd_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                vendor_id: string;
            };
            cookie?: never;
        };
        /** @description Any content, of any type, streamed to the vendor as sent; Warden neither parses nor validates it. */
        requestBody?: {
            content: {
                /** @example {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]} */
                "*/*": string;
            };
        };
        responses: {
            /** @description The vendor's answer, status, headers and body passed through as it sent them. */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"id":"chatcmpl-1","object":"chat.completion"} */
                    "*/*": string;
                };
            };
            /**
             * @description A policy asks a human to approve the call first: nothing was forwarded. Retry the same call
             *     with `X-Warden-Approval-Id` once the approval is approved (`GET /approvals/{id}`). A vendor's
             *     own 202 passes through as it came; Warden's carries the `X-Warden-Approval-Id` header.
             */
            202: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    /** @description The approval to wait for, as in the body. */
                    "X-Warden-Approval-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "approval_required",
                     *       "approval_id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_version": 3,
                     *       "expires_at": "2026-11-25T10:15:00Z",
                     *       "message": "A human must approve this call; retry it with X-Warden-Approval-Id once approved.",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayApprovalRequired"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            /**
             * @description The key's agent is killed, disabled or revoked (`CREDENTIAL_*`), a policy refuses the call
             *     (`POLICY_DENIED` with `deny_reason`, `policy_id`, `policy_version`), or the call would exceed
             *     the agent's daily budget (`BUDGET_EXCEEDED` with `budget_resets_at`).
             */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "forbidden",
                     *       "message": "The call would exceed the agent's daily budget.",
                     *       "code": "BUDGET_EXCEEDED",
                     *       "deny_reason": "budget_exceeded",
                     *       "policy_id": null,
                     *       "budget_resets_at": "2026-11-26T00:00:00Z",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayDenial"];
                };
            };
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
            /** @description Any other status the vendor answers with, passed through with its headers and body. */
            default: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"error":{"message":"Rate limit reached"}} */
                    "*/*": string;
                };
            };
        };
    };
    gatewayPatch: {
        parameters: {
            query?: {
                /** @description Any query parameters, forwarded to the vendor as sent. */
                query?: {
                    [key: string]: string | string[];
                };
            };
            header?: {
                /**
                 * @description The action the call performs, as policies name it (`allowed_actions`, `approval_actions`); defaults to
                 *     `METHOD /path`. Written as `METHOD /path`, it must be this call's method and path (400 `ACTION_MISMATCH`).
                 * @example chat.completions.create
                 */
                "X-Warden-Action"?: string;
                /**
                 * @description An approved approval (from an earlier 202) that lets exactly one matching call through (same method and path, cost at most the approved one).
                 * @example apr_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                "X-Warden-Approval-Id"?: string;
                /**
                 * @description The cost the agent declares for the call in USD, checked against `max_cost_per_request` and counted against the daily budget; 0 when absent.
                 * @example 0.25
                 */
                "X-Warden-Cost-Usd"?: string;
            };
            path: {
                /**
                 * @description The rest of the path, may contain `/`: one or more segments, forwarded as sent (percent-escapes
                 *     kept) after the vendor's `base_url`. A dot segment (`.` or `..`, percent-encoded or not) is
                 *     refused with 400 `GATEWAY_PATH_REFUSED`.
                 * @example v1/chat/completions
                 */
                path: string;
                /**
                 * @description The vendor the gateway key is bound to (`vnd_…`).
                 * @example vnd_01jd4v3k8m2q6r9t1w5y7z0abc
                 */
                vendor_id: string;
            };
            cookie?: never;
        };
        /** @description Any content, of any type, streamed to the vendor as sent; Warden neither parses nor validates it. */
        requestBody?: {
            content: {
                /** @example {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]} */
                "*/*": string;
            };
        };
        responses: {
            /** @description The vendor's answer, status, headers and body passed through as it sent them. */
            "2XX": {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"id":"chatcmpl-1","object":"chat.completion"} */
                    "*/*": string;
                };
            };
            /**
             * @description A policy asks a human to approve the call first: nothing was forwarded. Retry the same call
             *     with `X-Warden-Approval-Id` once the approval is approved (`GET /approvals/{id}`). A vendor's
             *     own 202 passes through as it came; Warden's carries the `X-Warden-Approval-Id` header.
             */
            202: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    /** @description The approval to wait for, as in the body. */
                    "X-Warden-Approval-Id"?: string;
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "approval_required",
                     *       "approval_id": "apr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_version": 3,
                     *       "expires_at": "2026-11-25T10:15:00Z",
                     *       "message": "A human must approve this call; retry it with X-Warden-Approval-Id once approved.",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayApprovalRequired"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            /**
             * @description The key's agent is killed, disabled or revoked (`CREDENTIAL_*`), a policy refuses the call
             *     (`POLICY_DENIED` with `deny_reason`, `policy_id`, `policy_version`), or the call would exceed
             *     the agent's daily budget (`BUDGET_EXCEEDED` with `budget_resets_at`).
             */
            403: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "error": "forbidden",
                     *       "message": "The call would exceed the agent's daily budget.",
                     *       "code": "BUDGET_EXCEEDED",
                     *       "deny_reason": "budget_exceeded",
                     *       "policy_id": null,
                     *       "budget_resets_at": "2026-11-26T00:00:00Z",
                     *       "request_id": "req_8f14e45fceea167a5a36dedd4bea2543"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayDenial"];
                };
            };
            404: components["responses"]["NotFound"];
            413: components["responses"]["PayloadTooLarge"];
            500: components["responses"]["InternalError"];
            502: components["responses"]["BadGateway"];
            503: components["responses"]["ServiceUnavailable"];
            504: components["responses"]["GatewayTimeout"];
            /** @description Any other status the vendor answers with, passed through with its headers and body. */
            default: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    /** @example {"error":{"message":"Rate limit reached"}} */
                    "*/*": string;
                };
            };
        };
    };
    listGitopsAppMappings: {
        parameters: {
            query?: {
                /** @description Only the mappings of this endpoint. */
                argocd_endpoint_id?: string;
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of mappings. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "gitops_app_mappings": [
                     *         {
                     *           "id": "gam_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "argocd_endpoint_id": "argo_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "app_name": "payments-api",
                     *           "cluster_name": "prod-eu-1",
                     *           "provider": "kubernetes",
                     *           "ref_prefix": "payments/",
                     *           "created_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        gitops_app_mappings: components["schemas"]["GitopsAppMapping"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createGitopsAppMapping: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "argocd_endpoint_id": "argo_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "app_name": "payments-api",
                 *       "cluster_name": "prod-eu-1",
                 *       "provider": "kubernetes",
                 *       "ref_prefix": "payments/"
                 *     }
                 */
                "application/json": {
                    /** @description The Argo CD application's name (`metadata.name`). */
                    app_name: string;
                    argocd_endpoint_id: string;
                    cluster_name: string;
                    provider?: string | null;
                    ref_prefix?: string | null;
                };
            };
        };
        responses: {
            /** @description The new mapping. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "gam_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "argocd_endpoint_id": "argo_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "app_name": "payments-api",
                     *       "cluster_name": "prod-eu-1",
                     *       "provider": "kubernetes",
                     *       "ref_prefix": "payments/",
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["GitopsAppMapping"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteGitopsAppMapping: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The mapping's id (`gam_…`). */
                id: components["parameters"]["GitopsAppMappingIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listImageRegistryCredentials: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of registry credentials. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "registry_credentials": [
                     *         {
                     *           "id": "rcred_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "registry": "ghcr.io",
                     *           "kind": "basic",
                     *           "username": "ci-bot",
                     *           "secret_last_four": "Qz9x",
                     *           "created_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        registry_credentials: components["schemas"]["ImageRegistryCredential"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createImageRegistryCredential: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "registry": "ghcr.io",
                 *       "username": "ci-bot",
                 *       "password": "ghp_example0not0a0real0tokenQz9x"
                 *     }
                 */
                "application/json": {
                    /** @description Write-only. */
                    password?: string;
                    /** @description The registry host (lower case), with its port when not the default. */
                    registry: string;
                    /** @description An access token sent as `Bearer`; write-only. */
                    token?: string;
                    username?: string;
                };
            };
        };
        responses: {
            /** @description The credential (without its secret). */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "rcred_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "registry": "ghcr.io",
                     *       "kind": "basic",
                     *       "username": "ci-bot",
                     *       "secret_last_four": "Qz9x",
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["ImageRegistryCredential"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteImageRegistryCredential: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The registry credential's id (`rcred_…`). */
                id: components["parameters"]["RegistryCredentialIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getImageScan: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The scan's id (`iscan_…`). */
                id: components["parameters"]["ImageScanIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The scan. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "iscan_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "ref": "registry-1.docker.io/my-org/my-agent:v1.0.0",
                     *       "registry": "registry-1.docker.io",
                     *       "repository": "my-org/my-agent",
                     *       "tag": "v1.0.0",
                     *       "digest": "sha256:2b7f4e1a9c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7",
                     *       "status": "failed",
                     *       "reason": "layer sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 is 2147483648 bytes, over IMAGE_SCAN_MAX_LAYER_BYTES (536870912)",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "started_at": "2026-11-24T09:00:01Z",
                     *       "finished_at": "2026-11-24T09:00:01Z"
                     *     }
                     */
                    "application/json": components["schemas"]["ImageScan"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listImages: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of images. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "images": [
                     *         {
                     *           "id": "img_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "ref": "registry-1.docker.io/my-org/my-agent:v1.0.0",
                     *           "registry": "registry-1.docker.io",
                     *           "repository": "my-org/my-agent",
                     *           "tag": "v1.0.0",
                     *           "digest": "sha256:2b7f4e1a9c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7",
                     *           "latest_scan_id": "iscan_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "latest_scan_status": "succeeded",
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "updated_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        images: components["schemas"]["Image"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    scanImage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The image reference, percent-encoded as one path segment (`my-org%2Fmy-agent:v1.0.0`):
                 *     `[registry/]repository[:tag][@sha256:digest]`. Without a registry host (a first component with
                 *     a `.` or `:`, or `localhost`) the image is on `IMAGE_DEFAULT_REGISTRY`; without a tag or digest
                 *     the tag is `latest`.
                 * @example my-org%2Fmy-agent:v1.0.0
                 */
                ref: components["parameters"]["ImageRefPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The scan (queued, running, or failed at once), new or the one already under way for this digest. */
            202: {
                headers: {
                    /** @description The scan's status resource. */
                    Location?: string;
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "iscan_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "ref": "registry-1.docker.io/my-org/my-agent:v1.0.0",
                     *       "registry": "registry-1.docker.io",
                     *       "repository": "my-org/my-agent",
                     *       "tag": "v1.0.0",
                     *       "digest": "sha256:2b7f4e1a9c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7",
                     *       "status": "queued",
                     *       "reason": null,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "started_at": null,
                     *       "finished_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["ImageScan"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getImageScanReport: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The image reference, percent-encoded as one path segment (`my-org%2Fmy-agent:v1.0.0`):
                 *     `[registry/]repository[:tag][@sha256:digest]`. Without a registry host (a first component with
                 *     a `.` or `:`, or `localhost`) the image is on `IMAGE_DEFAULT_REGISTRY`; without a tag or digest
                 *     the tag is `latest`.
                 * @example my-org%2Fmy-agent:v1.0.0
                 */
                ref: components["parameters"]["ImageRefPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The latest report. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "scan": {
                     *         "id": "iscan_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "ref": "registry-1.docker.io/my-org/my-agent:v1.0.0",
                     *         "registry": "registry-1.docker.io",
                     *         "repository": "my-org/my-agent",
                     *         "tag": "v1.0.0",
                     *         "digest": "sha256:2b7f4e1a9c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7",
                     *         "status": "succeeded",
                     *         "reason": null,
                     *         "created_at": "2026-11-24T09:00:00Z",
                     *         "started_at": "2026-11-24T09:00:01Z",
                     *         "finished_at": "2026-11-24T09:00:09Z"
                     *       },
                     *       "digest": "sha256:2b7f4e1a9c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7",
                     *       "manifest_digest": "sha256:2b7f4e1a9c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7",
                     *       "platform": "linux/amd64",
                     *       "size_bytes": 31457280,
                     *       "layer_count": 3,
                     *       "os": {
                     *         "id": "debian",
                     *         "version_id": "12",
                     *         "pretty_name": "Debian GNU/Linux 12 (bookworm)"
                     *       },
                     *       "packages": [
                     *         {
                     *           "ecosystem": "Debian",
                     *           "name": "openssl",
                     *           "version": "3.0.11-1~deb12u1",
                     *           "source": "openssl",
                     *           "path": "var/lib/dpkg/status"
                     *         },
                     *         {
                     *           "ecosystem": "npm",
                     *           "name": "lodash",
                     *           "version": "4.17.20",
                     *           "source": null,
                     *           "path": "app/node_modules/lodash/package.json"
                     *         }
                     *       ],
                     *       "advisories": {
                     *         "loaded": true,
                     *         "records": 1250
                     *       },
                     *       "verdict": "vulnerable",
                     *       "counts": {
                     *         "critical": 0,
                     *         "high": 1,
                     *         "medium": 0,
                     *         "low": 0,
                     *         "unknown": 0,
                     *         "total": 1
                     *       },
                     *       "findings": {
                     *         "critical": [],
                     *         "high": [
                     *           {
                     *             "advisory_id": "GHSA-35jh-r3h4-6jhm",
                     *             "aliases": [
                     *               "CVE-2021-23337"
                     *             ],
                     *             "summary": "Command Injection in lodash",
                     *             "severity": "high",
                     *             "ecosystem": "npm",
                     *             "package": "lodash",
                     *             "installed_version": "4.17.20",
                     *             "fixed_versions": [
                     *               "4.17.21"
                     *             ]
                     *           }
                     *         ],
                     *         "medium": [],
                     *         "low": [],
                     *         "unknown": []
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["ImageScanReport"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    registerInstallationBeacon: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The installation's id. */
                id: components["parameters"]["InstallationIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "platform": "kubernetes",
                 *       "metadata": {
                 *         "pod_name": "agent-abc",
                 *         "namespace": "prod"
                 *       }
                 *     }
                 */
                "application/json": {
                    metadata?: {
                        [key: string]: string;
                    };
                    /** @enum {string} */
                    platform: "kubernetes" | "docker" | "ecs" | "lambda" | "vm" | "bare_metal" | "other";
                };
            };
        };
        responses: {
            /** @description The beacon. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "installation_id": "inst_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "platform": "kubernetes",
                     *       "metadata": {
                     *         "pod_name": "agent-abc",
                     *         "namespace": "prod"
                     *       },
                     *       "registered_at": "2026-02-03T12:00:00Z"
                     *     }
                     */
                    "application/json": {
                        installation_id: string;
                        metadata: {
                            [key: string]: string;
                        };
                        platform: string;
                        /** Format: date-time */
                        registered_at: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    renewInstallationLease: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The installation's id. */
                id: components["parameters"]["InstallationIdPath"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "status": "running",
                 *       "heartbeat_interval_seconds": 60,
                 *       "health_payload": {
                 *         "memory_mb": 512
                 *       }
                 *     }
                 */
                "application/json": {
                    health_payload?: {
                        [key: string]: unknown;
                    };
                    /** Format: int32 */
                    heartbeat_interval_seconds?: number;
                    /**
                     * @default running
                     * @enum {string}
                     */
                    status?: "starting" | "running" | "degraded" | "stopping";
                };
            };
        };
        responses: {
            /** @description The lease. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "installation_id": "inst_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "lease_expires_at": "2026-02-03T12:05:00Z",
                     *       "next_heartbeat_at": "2026-02-03T12:01:00Z",
                     *       "command": null,
                     *       "refreshed_token": {
                     *         "runtime_token": "srt_Yc8HsJ4fDa6GuE1iOoPqXw3vB7nQ2kLp9RtY5m",
                     *         "expires_at": "2026-05-03T12:00:00Z",
                     *         "token_version": 2
                     *       }
                     *     }
                     */
                    "application/json": {
                        command: {
                            reason: string;
                            /** Format: int32 */
                            timeout_ms: number;
                            /** @enum {string} */
                            type: "shutdown";
                        } | null;
                        installation_id: string;
                        /** Format: date-time */
                        lease_expires_at: string;
                        /** Format: date-time */
                        next_heartbeat_at: string;
                        refreshed_token?: components["schemas"]["RuntimeToken"];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    refreshInstallationToken: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The installation's id. */
                id: components["parameters"]["InstallationIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "refresh_token": "srf_Xw3vB7nQ2kLp9RtY5mZc8HsJ4fDa6GuE1iOoPq"
                 *     }
                 */
                "application/json": {
                    refresh_token: string;
                };
            };
        };
        responses: {
            /** @description The new runtime token and the refresh token that replaces the one presented. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "runtime_token": "srt_Yc8HsJ4fDa6GuE1iOoPqXw3vB7nQ2kLp9RtY5m",
                     *       "expires_at": "2026-05-03T12:00:00Z",
                     *       "token_version": 2,
                     *       "refresh_token": "srf_Pq7Lm2Nb8Vc4Xz6Kj1Hg5Fd3Sa9Qw0ErTyUiOp"
                     *     }
                     */
                    "application/json": components["schemas"]["RefreshResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    revokeInstallation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The installation's id. */
                id: components["parameters"]["InstallationIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "reason": "Security incident",
                 *       "shutdown_timeout_ms": 5000
                 *     }
                 */
                "application/json": {
                    reason: string;
                    /**
                     * Format: int32
                     * @default 0
                     */
                    shutdown_timeout_ms?: number;
                };
            };
        };
        responses: {
            /** @description The revocation. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "installation_id": "inst_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "status": "revoked",
                     *       "reason": "Security incident",
                     *       "shutdown_deadline": "2026-02-03T12:00:05Z"
                     *     }
                     */
                    "application/json": {
                        installation_id: string;
                        reason: string;
                        /**
                         * Format: date-time
                         * @description When the installation must have stopped: the revocation plus `shutdown_timeout_ms`.
                         */
                        shutdown_deadline: string;
                        /** @enum {string} */
                        status: "revoked";
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    bootstrapInstallation: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "install_token": "skt_u2ZQfOpyP01KcEDfdmu0yciIBU6SnLJV3aB9cD",
                 *       "upstream_url": "http://my-agent:8000",
                 *       "capabilities": [
                 *         "data_analysis",
                 *         "code_generation"
                 *       ],
                 *       "heartbeat_interval_seconds": 60
                 *     }
                 */
                "application/json": {
                    capabilities?: string[];
                    /**
                     * Format: int32
                     * @default 60
                     */
                    heartbeat_interval_seconds?: number;
                    install_token: string;
                    /** Format: uri */
                    upstream_url?: string;
                };
            };
        };
        responses: {
            /** @description The installation's credentials. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "installation_id": "inst_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "runtime_token": "srt_u2ZQfOpyP01KcEDfdmu0yciIBU6SnLJV3aB9cD",
                     *       "refresh_token": "srf_Xw3vB7nQ2kLp9RtY5mZc8HsJ4fDa6GuE1iOoPq",
                     *       "expires_at": "2026-05-03T12:00:00Z",
                     *       "heartbeat_interval": 60
                     *     }
                     */
                    "application/json": components["schemas"]["BootstrapResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    recoverInstallation: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "agent_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                 *       "workspace_id": "ws_abc123",
                 *       "upstream_url": "http://my-agent:8000",
                 *       "capabilities": [
                 *         "data_analysis"
                 *       ],
                 *       "heartbeat_interval_seconds": 60
                 *     }
                 */
                "application/json": {
                    agent_id: string;
                    capabilities?: string[];
                    /**
                     * Format: int32
                     * @default 60
                     */
                    heartbeat_interval_seconds?: number;
                    /** Format: uri */
                    upstream_url?: string;
                    workspace_id: string;
                };
            };
        };
        responses: {
            /** @description The installation's new credentials. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "installation_id": "inst_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "runtime_token": "srt_u2ZQfOpyP01KcEDfdmu0yciIBU6SnLJV3aB9cD",
                     *       "refresh_token": "srf_Xw3vB7nQ2kLp9RtY5mZc8HsJ4fDa6GuE1iOoPq",
                     *       "expires_at": "2026-05-03T12:00:00Z",
                     *       "heartbeat_interval": 60
                     *     }
                     */
                    "application/json": components["schemas"]["BootstrapResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listJobs: {
        parameters: {
            query?: {
                agent_id?: string;
                cluster_name?: string;
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                request_id?: string;
                status?: "queued" | "claimed" | "completed" | "failed";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of jobs. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "jobs": [
                     *         {
                     *           "id": "job_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "kind": "custom",
                     *           "status": "completed",
                     *           "cluster_name": "prod-eu-1",
                     *           "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "request_id": null,
                     *           "payload": {
                     *             "action": "rotate-cache-credentials"
                     *           },
                     *           "attempts": 1,
                     *           "max_attempts": 3,
                     *           "claimed_at": "2026-11-25T10:00:00Z",
                     *           "lease_expires_at": null,
                     *           "completed_at": "2026-11-25T10:00:04Z",
                     *           "error": null,
                     *           "created_at": "2026-11-25T09:59:58Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        jobs: components["schemas"]["Job"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createJob: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "cluster_name": "prod-eu-1",
                 *       "kind": "custom",
                 *       "payload": {
                 *         "action": "rotate-cache-credentials",
                 *         "namespace": "payments"
                 *       },
                 *       "agent_id": null,
                 *       "max_attempts": 3
                 *     }
                 */
                "application/json": {
                    agent_id?: string | null;
                    cluster_name: string;
                    /**
                     * @description Always `custom`: `read` and `patch` jobs come only from approved access requests.
                     * @enum {string}
                     */
                    kind: "custom";
                    /**
                     * Format: int32
                     * @default 3
                     */
                    max_attempts?: number;
                    /** @description Visible to every holder of `job.read`; never a secret. */
                    payload: {
                        [key: string]: unknown;
                    };
                };
            };
        };
        responses: {
            /** @description The job, `queued`. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "job_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "custom",
                     *       "status": "queued",
                     *       "cluster_name": "prod-eu-1",
                     *       "agent_id": null,
                     *       "request_id": null,
                     *       "payload": {
                     *         "action": "rotate-cache-credentials",
                     *         "namespace": "payments"
                     *       },
                     *       "attempts": 0,
                     *       "max_attempts": 3,
                     *       "claimed_at": null,
                     *       "lease_expires_at": null,
                     *       "completed_at": null,
                     *       "error": null,
                     *       "created_at": "2026-11-25T09:59:58Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Job"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getJob: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The job's id (`job_…`). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The job. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "job_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "custom",
                     *       "status": "failed",
                     *       "cluster_name": "prod-eu-1",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "request_id": null,
                     *       "payload": {
                     *         "action": "rotate-cache-credentials"
                     *       },
                     *       "attempts": 3,
                     *       "max_attempts": 3,
                     *       "claimed_at": "2026-11-25T10:10:00Z",
                     *       "lease_expires_at": null,
                     *       "completed_at": "2026-11-25T10:15:00Z",
                     *       "error": "The lease expired on the last of 3 attempts.",
                     *       "created_at": "2026-11-25T09:59:58Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Job"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listGatewayKeys: {
        parameters: {
            query?: {
                /** @description Only keys of this agent. */
                agent_id?: string;
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Only keys for this vendor. */
                vendor_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of gateway keys. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "keys": [
                     *         {
                     *           "id": "gwk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "vendor_id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "prefix": "sgk_3kTq",
                     *           "last_four": "4TCV",
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "revoked_at": null
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        keys: components["schemas"]["GatewayKey"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createGatewayKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "vendor_id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc"
                 *     }
                 */
                "application/json": {
                    agent_id: string;
                    vendor_id: string;
                };
            };
        };
        responses: {
            /** @description The new key, with its secret in `key`. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "gwk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "vendor_id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "prefix": "sgk_3kTq",
                     *       "last_four": "4TCV",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "revoked_at": null,
                     *       "key": "sgk_3kTqMpLFRxTF4SN8LxzjMFT5LOHCQIMw4TCV1a"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayKeyWithSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    revokeGatewayKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The gateway key's id (`gwk_…`), never its secret. */
                id: components["parameters"]["GatewayKeyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The revoked key. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "gwk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "vendor_id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "prefix": "sgk_3kTq",
                     *       "last_four": "4TCV",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "revoked_at": "2026-11-25T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayKey"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getCurrentGatewayKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key the request was made with. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "gwk_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "vendor_id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "prefix": "sgk_3kTq",
                     *       "last_four": "4TCV",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "revoked_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["GatewayKey"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    killAgent: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's `agt_` id or its `sekuire_id`. */
                agent_id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                /**
                 * @example {
                 *       "reason": "Runaway spend"
                 *     }
                 */
                "application/json": {
                    /** Format: date-time */
                    expires_at?: string;
                    reason?: string;
                };
            };
        };
        responses: {
            /** @description The disabled agent. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": null,
                     *       "sekuire_id": null,
                     *       "did": null,
                     *       "name": "billing-bot",
                     *       "version": null,
                     *       "public_key": null,
                     *       "key_proven_at": null,
                     *       "manifest_hash": null,
                     *       "wire_public_key": null,
                     *       "daily_budget": 25,
                     *       "policy_ids": [],
                     *       "status": "disabled",
                     *       "disabled_reason": "Runaway spend",
                     *       "disabled_until": null,
                     *       "revoked_at": null,
                     *       "last_seen_at": null,
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Agent"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listLedgerAccounts: {
        parameters: {
            query?: {
                agent_id?: string;
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                org_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of accounts. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "accounts": [
                     *         {
                     *           "id": "acct_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "owner_type": "org",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "agent_id": null,
                     *           "currency": "USD",
                     *           "exponent": 2,
                     *           "network": null,
                     *           "balance": 100000,
                     *           "created_at": "2026-11-25T10:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        accounts: components["schemas"]["LedgerAccount"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createLedgerDeposit: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "currency": "USD",
                 *       "amount": 100000,
                 *       "reference": "wire 2026-11-25 ACME",
                 *       "idempotency_key": "dep-2026-11-25"
                 *     }
                 */
                "application/json": {
                    agent_id?: string;
                    amount: components["schemas"]["MinorUnits"];
                    currency: components["schemas"]["CurrencyCode"];
                    idempotency_key?: string;
                    org_id?: string;
                    /** @description Where the money came from (a bank reference), kept in `metadata.reference`. */
                    reference?: string;
                };
            };
        };
        responses: {
            /** @description The deposit, settled. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "tr_01jd4v3k8m2q6r9t1w5y7z0abf",
                     *       "kind": "deposit",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "from_agent_id": null,
                     *       "to_agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "to_address": null,
                     *       "rail": "ledger",
                     *       "currency": "USD",
                     *       "amount": 100000,
                     *       "amount_usd": null,
                     *       "network": null,
                     *       "asset": null,
                     *       "mandate_id": null,
                     *       "has_shared_payment_token": false,
                     *       "status": "settled",
                     *       "pending_reason": null,
                     *       "approval_id": null,
                     *       "idempotency_key": "dep-2026-11-25",
                     *       "metadata": {
                     *         "reference": "wire 2026-11-25 ACME"
                     *       },
                     *       "created_at": "2026-11-25T10:00:00Z",
                     *       "settled_at": "2026-11-25T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    hireAgent: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "to_agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abd",
                 *       "pricing_model": "per_task",
                 *       "rail": "ledger",
                 *       "currency": "USD",
                 *       "amount": 5000,
                 *       "amount_usd": 50,
                 *       "daily_budget_usd": 100,
                 *       "charge_now": true,
                 *       "idempotency_key": "hire-7731"
                 *     }
                 */
                "application/json": {
                    amount?: components["schemas"]["MinorUnits"];
                    amount_usd?: number;
                    asset?: string;
                    /** @default false */
                    charge_now?: boolean;
                    currency?: components["schemas"]["CurrencyCode"];
                    daily_budget_usd?: number;
                    idempotency_key?: string;
                    network?: string;
                    org_id?: string;
                    /**
                     * @default per_task
                     * @enum {string}
                     */
                    pricing_model?: "per_task" | "per_hour" | "per_day" | "subscription" | "free";
                    rail?: components["schemas"]["TransferRail"];
                    to_agent_id: string;
                };
            };
        };
        responses: {
            /** @description The hire, with its initial charge if one was made. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "hire_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *       "pricing_model": "per_task",
                     *       "rail": "ledger",
                     *       "currency": "USD",
                     *       "amount": 5000,
                     *       "amount_usd": 50,
                     *       "network": null,
                     *       "asset": null,
                     *       "daily_budget_usd": 100,
                     *       "charge": {
                     *         "id": "tr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "kind": "hire_charge",
                     *         "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "from_agent_id": null,
                     *         "to_agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *         "to_address": null,
                     *         "rail": "ledger",
                     *         "currency": "USD",
                     *         "amount": 5000,
                     *         "amount_usd": 50,
                     *         "network": null,
                     *         "asset": null,
                     *         "mandate_id": null,
                     *         "has_shared_payment_token": false,
                     *         "status": "settled",
                     *         "pending_reason": null,
                     *         "approval_id": null,
                     *         "idempotency_key": null,
                     *         "metadata": {
                     *           "hire_id": "hire_01jd4v3k8m2q6r9t1w5y7z0abc"
                     *         },
                     *         "created_at": "2026-11-25T10:00:00Z",
                     *         "settled_at": "2026-11-25T10:00:00Z"
                     *       },
                     *       "idempotency_key": "hire-7731",
                     *       "created_at": "2026-11-25T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Hire"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getMe: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The caller's profile. */
            200: {
                headers: {
                    RateLimit: components["headers"]["RateLimit"];
                    "RateLimit-Policy": components["headers"]["RateLimitPolicy"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "uuid": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "email": "dev@example.com",
                     *       "firstname": "Jane",
                     *       "lastname": "Doe",
                     *       "user_source": "key_creator",
                     *       "type": "api_key",
                     *       "org": {
                     *         "id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "name": "Acme Corp",
                     *         "plan": "starter",
                     *         "created_at": "2026-11-01T08:59:00Z"
                     *       },
                     *       "api_key": {
                     *         "id": "key_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *         "name": "CLI",
                     *         "prefix": "sk_live_1hSY",
                     *         "device_binding_required": true,
                     *         "device_id": "dev_01jd4v3k8m2q6r9t1w5y7z0abc"
                     *       },
                     *       "permissions": [
                     *         "org.read",
                     *         "workspace.read"
                     *       ]
                     *     }
                     */
                    "application/json": components["schemas"]["Me"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listOrgs: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of orgs. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "orgs": [
                     *         {
                     *           "id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "Acme Corp",
                     *           "plan": "starter",
                     *           "created_at": "2026-11-01T08:59:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        orgs: components["schemas"]["Org"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createOrg: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Acme Corp"
                 *     }
                 */
                "application/json": {
                    name: string;
                    plan?: components["schemas"]["PlanName"];
                };
            };
        };
        responses: {
            /** @description The new org. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "Acme Corp",
                     *       "plan": "starter",
                     *       "created_at": "2026-11-01T08:59:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Org"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setOrgPlan: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "plan": "professional"
                 *     }
                 */
                "application/json": {
                    plan: components["schemas"]["PlanName"];
                };
            };
        };
        responses: {
            /** @description The org with its new plan. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "Acme Corp",
                     *       "plan": "starter",
                     *       "created_at": "2026-11-01T08:59:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Org"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listWorkspaces: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path: {
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of workspaces. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "workspaces": [
                     *         {
                     *           "id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "Production",
                     *           "description": "Production workspace",
                     *           "status": "active",
                     *           "archived_at": null,
                     *           "created_at": "2026-11-02T10:00:00Z",
                     *           "updated_at": "2026-11-02T10:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        workspaces: components["schemas"]["Workspace"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createWorkspace: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Production",
                 *       "description": "Production workspace"
                 *     }
                 */
                "application/json": {
                    description?: string;
                    name: string;
                };
            };
        };
        responses: {
            /** @description The new workspace. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "Production",
                     *       "description": "Production workspace",
                     *       "status": "active",
                     *       "archived_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workspace"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getWorkspace: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The workspace. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "Production",
                     *       "description": "Production workspace",
                     *       "status": "active",
                     *       "archived_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workspace"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateWorkspace: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "Production (Updated)",
                 *       "description": "Updated production workspace"
                 *     }
                 */
                "application/json": {
                    description?: string;
                    name: string;
                };
            };
        };
        responses: {
            /** @description The updated workspace. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "Production",
                     *       "description": "Production workspace",
                     *       "status": "active",
                     *       "archived_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workspace"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteWorkspace: {
        parameters: {
            query?: {
                /** @description Also delete the workspace's agents and installations. */
                force?: boolean;
            };
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listWorkspaceMembers: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of members. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "members": [
                     *         {
                     *           "user_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "email": "jane@example.com",
                     *           "role": "admin",
                     *           "added_at": "2026-11-02T10:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        members: components["schemas"]["WorkspaceMember"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setWorkspaceMember: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
                /** @description The user's id. */
                user_id: components["parameters"]["UserIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "role": "member"
                 *     }
                 */
                "application/json": {
                    role: components["schemas"]["WorkspaceRole"];
                };
            };
        };
        responses: {
            /** @description The membership. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "email": "jane@example.com",
                     *       "role": "admin",
                     *       "added_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["WorkspaceMember"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    removeWorkspaceMember: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
                /** @description The org's id. An org other than your own answers 404. */
                org_id: components["parameters"]["OrgIdPath"];
                /** @description The user's id. */
                user_id: components["parameters"]["UserIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listPermissions: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The catalog. */
            200: {
                headers: {
                    /** @description `private, max-age=300` */
                    "Cache-Control"?: string;
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "permissions": [
                     *         {
                     *           "name": "workspace.read",
                     *           "description": "See workspaces and their members.",
                     *           "scope": "org"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        permissions: components["schemas"]["Permission"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listPlans: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every plan. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "plans": [
                     *         {
                     *           "name": "free",
                     *           "features": [],
                     *           "quotas": {
                     *             "workspaces": 1,
                     *             "api_keys": 3,
                     *             "users": 3,
                     *             "agents": 3
                     *           },
                     *           "audit_log_retention_days": 7
                     *         },
                     *         {
                     *           "name": "starter",
                     *           "features": [
                     *             "audit_logs",
                     *             "custom_roles",
                     *             "fleet_ops",
                     *             "email_support"
                     *           ],
                     *           "quotas": {
                     *             "workspaces": 5,
                     *             "api_keys": 10,
                     *             "users": 10,
                     *             "agents": 25
                     *           },
                     *           "audit_log_retention_days": 90
                     *         },
                     *         {
                     *           "name": "professional",
                     *           "features": [
                     *             "audit_logs",
                     *             "custom_roles",
                     *             "fleet_ops",
                     *             "siem_export",
                     *             "priority_support",
                     *             "registry_network",
                     *             "email_support",
                     *             "slack_support"
                     *           ],
                     *           "quotas": {
                     *             "workspaces": 25,
                     *             "api_keys": 50,
                     *             "users": 50,
                     *             "agents": 250
                     *           },
                     *           "audit_log_retention_days": 365
                     *         },
                     *         {
                     *           "name": "enterprise",
                     *           "features": [
                     *             "audit_logs",
                     *             "custom_roles",
                     *             "fleet_ops",
                     *             "siem_export",
                     *             "priority_support",
                     *             "registry_network",
                     *             "custom_retention",
                     *             "compliance_reports",
                     *             "dedicated_csm",
                     *             "email_support",
                     *             "slack_support"
                     *           ],
                     *           "quotas": {
                     *             "workspaces": null,
                     *             "api_keys": null,
                     *             "users": null,
                     *             "agents": null
                     *           },
                     *           "audit_log_retention_days": 365
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        plans: components["schemas"]["Plan"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
        };
    };
    listPolicies: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of policies. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "policies": [
                     *         {
                     *           "id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "support-bot",
                     *           "version": 2,
                     *           "allowed_actions": [
                     *             "chat.*"
                     *           ],
                     *           "denied_path_prefixes": [
                     *             "/admin"
                     *           ],
                     *           "max_cost_per_request": 0.5,
                     *           "require_approval": false,
                     *           "approval_min_cost": 0.25,
                     *           "approval_actions": [
                     *             "chat.refund"
                     *           ],
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "updated_at": "2026-11-24T10:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        policies: components["schemas"]["Policy"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createPolicy: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "name": "support-bot",
                 *       "allowed_actions": [
                 *         "chat.*",
                 *         "POST /v1/chat/completions"
                 *       ],
                 *       "denied_path_prefixes": [
                 *         "/admin",
                 *         "/v1/files"
                 *       ],
                 *       "max_cost_per_request": 0.5,
                 *       "require_approval": false,
                 *       "approval_min_cost": 0.25,
                 *       "approval_actions": [
                 *         "chat.refund"
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["PolicyInput"];
            };
        };
        responses: {
            /** @description The new policy, at version 1. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "support-bot",
                     *       "version": 1,
                     *       "allowed_actions": [
                     *         "chat.*",
                     *         "POST /v1/chat/completions"
                     *       ],
                     *       "denied_path_prefixes": [
                     *         "/admin",
                     *         "/v1/files"
                     *       ],
                     *       "max_cost_per_request": 0.5,
                     *       "require_approval": false,
                     *       "approval_min_cost": 0.25,
                     *       "approval_actions": [
                     *         "chat.refund"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Policy"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getPolicy: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The policy's `pol_` id. A policy of another org answers 404. */
                id: components["parameters"]["PolicyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The policy. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "support-bot",
                     *       "version": 2,
                     *       "allowed_actions": [
                     *         "chat.*"
                     *       ],
                     *       "denied_path_prefixes": [
                     *         "/admin"
                     *       ],
                     *       "max_cost_per_request": 0.5,
                     *       "require_approval": false,
                     *       "approval_min_cost": 0.25,
                     *       "approval_actions": [
                     *         "chat.refund"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Policy"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updatePolicy: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The policy's `pol_` id. A policy of another org answers 404. */
                id: components["parameters"]["PolicyIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "support-bot",
                 *       "allowed_actions": [
                 *         "chat.*"
                 *       ],
                 *       "denied_path_prefixes": [
                 *         "/admin"
                 *       ],
                 *       "max_cost_per_request": 0.5,
                 *       "require_approval": false,
                 *       "approval_min_cost": 0.25,
                 *       "approval_actions": [
                 *         "chat.refund"
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["PolicyInput"];
            };
        };
        responses: {
            /** @description The policy at its new version. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "support-bot",
                     *       "version": 2,
                     *       "allowed_actions": [
                     *         "chat.*"
                     *       ],
                     *       "denied_path_prefixes": [
                     *         "/admin"
                     *       ],
                     *       "max_cost_per_request": 0.5,
                     *       "require_approval": false,
                     *       "approval_min_cost": 0.25,
                     *       "approval_actions": [
                     *         "chat.refund"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Policy"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deletePolicy: {
        parameters: {
            query?: {
                /** @description Also remove the policy from the agents and workspaces that name it. */
                force?: boolean;
            };
            header?: never;
            path: {
                /** @description The policy's `pol_` id. A policy of another org answers 404. */
                id: components["parameters"]["PolicyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listPolicyVersions: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path: {
                /** @description The policy's `pol_` id. A policy of another org answers 404. */
                id: components["parameters"]["PolicyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of versions. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "versions": [
                     *         {
                     *           "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "version": 1,
                     *           "name": "support-bot",
                     *           "allowed_actions": [
                     *             "chat.*"
                     *           ],
                     *           "denied_path_prefixes": [
                     *             "/admin"
                     *           ],
                     *           "max_cost_per_request": 0.5,
                     *           "require_approval": false,
                     *           "approval_min_cost": null,
                     *           "approval_actions": [],
                     *           "created_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        versions: components["schemas"]["PolicyVersion"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getPolicyVersion: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The policy's `pol_` id. A policy of another org answers 404. */
                id: components["parameters"]["PolicyIdPath"];
                /** @description The version number. */
                version: number;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The version. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "version": 1,
                     *       "name": "support-bot",
                     *       "allowed_actions": [
                     *         "chat.*"
                     *       ],
                     *       "denied_path_prefixes": [
                     *         "/admin"
                     *       ],
                     *       "max_cost_per_request": 0.5,
                     *       "require_approval": false,
                     *       "approval_min_cost": null,
                     *       "approval_actions": [],
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["PolicyVersion"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listProjects: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Only projects with this status. */
                status?: components["schemas"]["WorkspaceStatus"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of projects. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "projects": [
                     *         {
                     *           "id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "payments",
                     *           "description": "Payments platform",
                     *           "status": "active",
                     *           "archived_at": null,
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "updated_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        projects: components["schemas"]["Workspace"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createProject: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "payments",
                 *       "description": "Payments platform"
                 *     }
                 */
                "application/json": {
                    description?: string;
                    name: string;
                };
            };
        };
        responses: {
            /** @description The new project. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "payments",
                     *       "description": "Payments platform",
                     *       "status": "active",
                     *       "archived_at": null,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workspace"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getProject: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The project's id (a workspace's `ws_` id). A project of another org answers 404. */
                id: components["parameters"]["ProjectIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The project. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "payments",
                     *       "description": "Payments platform",
                     *       "status": "active",
                     *       "archived_at": null,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workspace"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listProjectEnvironments: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path: {
                /** @description The project's id (a workspace's `ws_` id). A project of another org answers 404. */
                id: components["parameters"]["ProjectIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of environments. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "environments": [
                     *         {
                     *           "id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "production",
                     *           "created_at": "2026-11-24T18:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        environments: components["schemas"]["Environment"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setProjectStatus: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The project's id (a workspace's `ws_` id). A project of another org answers 404. */
                id: components["parameters"]["ProjectIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "status": "archived"
                 *     }
                 */
                "application/json": {
                    status: components["schemas"]["WorkspaceStatus"];
                };
            };
        };
        responses: {
            /** @description The project with its new status. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "payments",
                     *       "description": "Payments platform",
                     *       "status": "archived",
                     *       "archived_at": "2026-11-25T12:00:00Z",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-25T12:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workspace"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getPublicTxStats: {
        parameters: {
            query?: {
                /**
                 * @description Start of the period (inclusive); default 30 days before `to`.
                 * @example 2026-10-26T00:00:00Z
                 */
                from?: components["parameters"]["StatsFrom"];
                /**
                 * @description End of the period (exclusive); default now.
                 * @example 2026-11-25T00:00:00Z
                 */
                to?: components["parameters"]["StatsTo"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The aggregates. */
            200: {
                headers: {
                    /**
                     * @description How long the answer may be cached.
                     * @example public, max-age=60
                     */
                    "Cache-Control"?: string;
                    "RateLimit-Limit": components["headers"]["RateLimitLimit"];
                    "RateLimit-Remaining": components["headers"]["RateLimitRemaining"];
                    "RateLimit-Reset": components["headers"]["RateLimitReset"];
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "from": "2026-10-26T00:00:00Z",
                     *       "to": "2026-11-25T00:00:00Z",
                     *       "transfers": 1042,
                     *       "settled": 1001,
                     *       "pending": 41,
                     *       "volume": [
                     *         {
                     *           "currency": "USD",
                     *           "amount": 9125000,
                     *           "count": 990
                     *         },
                     *         {
                     *           "currency": "EUR",
                     *           "amount": 120000,
                     *           "count": 11
                     *         }
                     *       ],
                     *       "amount_usd_total": 91250,
                     *       "hires": 57
                     *     }
                     */
                    "application/json": components["schemas"]["TxStats"];
                };
            };
            400: components["responses"]["BadRequest"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listRegistryNetworkAgents: {
        parameters: {
            query?: {
                category?: components["schemas"]["RegistryCategory"];
                limit?: number;
                offset?: number;
                verified_only?: boolean;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of listed agents. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "agents": [
                     *         {
                     *           "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *           "sekuire_id": "3f6c1b0e8a9d4c2b7e5f1a0d9c8b7a6e5f4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b",
                     *           "name": "secret-scanner",
                     *           "category": "security",
                     *           "description": "Reviews pull requests for leaked secrets.",
                     *           "verified": true,
                     *           "listed_at": "2026-11-25T10:00:00Z"
                     *         }
                     *       ],
                     *       "total": 1,
                     *       "limit": 20,
                     *       "offset": 0
                     *     }
                     */
                    "application/json": {
                        agents: components["schemas"]["NetworkAgent"][];
                        /** Format: int32 */
                        limit: number;
                        /** Format: int32 */
                        offset: number;
                        /** Format: int64 */
                        total: number;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getRegistryNetworkSummary: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The summary. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "total_agents": 12,
                     *       "verified_agents": 9,
                     *       "categories": [
                     *         {
                     *           "category": "security",
                     *           "agents": 5,
                     *           "verified_agents": 4
                     *         },
                     *         {
                     *           "category": "data-analysis",
                     *           "agents": 7,
                     *           "verified_agents": 5
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        categories: {
                            /** Format: int64 */
                            agents: number;
                            category: components["schemas"]["RegistryCategory"];
                            /** Format: int64 */
                            verified_agents: number;
                        }[];
                        /** Format: int64 */
                        total_agents: number;
                        /** Format: int64 */
                        verified_agents: number;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listAccessRequests: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Only requests of this user. */
                requester_id?: string;
                /** @description Only requests in this state. */
                status?: "pending" | "approved" | "rejected" | "cancelled" | "expired" | "running" | "completed" | "failed";
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of requests. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "requests": [
                     *         {
                     *           "id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "kind": "read",
                     *           "status": "pending",
                     *           "requester_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "project_name": "payments",
                     *           "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "environment_name": "production",
                     *           "secret_id": "sec_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "secret": {
                     *             "cluster_name": "prod-eu-1",
                     *             "provider": "kubernetes",
                     *             "ref": "payments/stripe-api-key"
                     *           },
                     *           "justification": "INC-4521: verify the live key matches the dashboard",
                     *           "expires_at": "2026-11-03T10:00:00Z",
                     *           "workflow_id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "workflow_version": 3,
                     *           "required_approvals": 2,
                     *           "approver_roles": [
                     *             "security"
                     *           ],
                     *           "approvals": [],
                     *           "job_id": null,
                     *           "decided_by": null,
                     *           "decision_reason": null,
                     *           "decided_at": null,
                     *           "completed_at": null,
                     *           "created_at": "2026-11-02T10:00:00Z",
                     *           "updated_at": "2026-11-02T10:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        requests: components["schemas"]["AccessRequest"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createPatchRequest: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "secret": {
                 *         "cluster_name": "prod-eu-1",
                 *         "provider": "kubernetes",
                 *         "ref": "payments/stripe-api-key"
                 *       },
                 *       "justification": "Rotate the Stripe key after INC-4521",
                 *       "value": "sk_live_new_value_from_the_stripe_dashboard",
                 *       "expires_in": 86400
                 *     }
                 */
                "application/json": {
                    /** @description An environment of that project. */
                    environment_id: string;
                    /**
                     * Format: int32
                     * @description Seconds until the request expires (5 minutes to 7 days; default 24 hours): approvals are collected, and a value may be retrieved, until then.
                     * @default 86400
                     */
                    expires_in?: number;
                    /** @description Why the access is needed; approvers read it. */
                    justification: string;
                    /** @description The project (workspace) the secret belongs to. */
                    project_id: string;
                    secret: components["schemas"]["SecretReferenceInput"];
                    /** @description The secret's new value. Never stored or shown in plaintext. */
                    value: string;
                };
            };
        };
        responses: {
            /** @description The request, pending (or approved when its workflow auto-approves). */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "patch",
                     *       "status": "pending",
                     *       "requester_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_name": "payments",
                     *       "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "environment_name": "production",
                     *       "secret_id": "sec_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "secret": {
                     *         "cluster_name": "prod-eu-1",
                     *         "provider": "kubernetes",
                     *         "ref": "payments/stripe-api-key"
                     *       },
                     *       "justification": "INC-4521: verify the live key matches the dashboard",
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "workflow_id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workflow_version": 3,
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "approvals": [],
                     *       "job_id": null,
                     *       "decided_by": null,
                     *       "decision_reason": null,
                     *       "decided_at": null,
                     *       "completed_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["AccessRequest"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getAccessRequest: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The request. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "read",
                     *       "status": "approved",
                     *       "requester_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_name": "payments",
                     *       "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "environment_name": "production",
                     *       "secret_id": "sec_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "secret": {
                     *         "cluster_name": "prod-eu-1",
                     *         "provider": "kubernetes",
                     *         "ref": "payments/stripe-api-key"
                     *       },
                     *       "justification": "INC-4521: verify the live key matches the dashboard",
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "workflow_id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workflow_version": 3,
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "approvals": [
                     *         {
                     *           "id": "rqa_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "approver_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *           "decision": "approved",
                     *           "comment": null,
                     *           "created_at": "2026-11-02T10:02:00Z"
                     *         },
                     *         {
                     *           "id": "rqa_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *           "approver_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abe",
                     *           "decision": "approved",
                     *           "comment": "Checked the incident",
                     *           "created_at": "2026-11-02T10:05:00Z"
                     *         }
                     *       ],
                     *       "job_id": "job_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "decided_by": null,
                     *       "decision_reason": null,
                     *       "decided_at": "2026-11-02T10:05:00Z",
                     *       "completed_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:05:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["AccessRequest"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    approveAccessRequest: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "approver_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abe",
                 *       "comment": "Checked the incident"
                 *     }
                 */
                "application/json": {
                    /** @description The caller's own user id. */
                    approver_id: string;
                    comment?: string;
                };
            };
        };
        responses: {
            /** @description The request after the approval (`approved` once enough approvals are in). */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "read",
                     *       "status": "approved",
                     *       "requester_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_name": "payments",
                     *       "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "environment_name": "production",
                     *       "secret_id": "sec_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "secret": {
                     *         "cluster_name": "prod-eu-1",
                     *         "provider": "kubernetes",
                     *         "ref": "payments/stripe-api-key"
                     *       },
                     *       "justification": "INC-4521: verify the live key matches the dashboard",
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "workflow_id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workflow_version": 3,
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "approvals": [
                     *         {
                     *           "id": "rqa_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "approver_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *           "decision": "approved",
                     *           "comment": null,
                     *           "created_at": "2026-11-02T10:02:00Z"
                     *         },
                     *         {
                     *           "id": "rqa_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *           "approver_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abe",
                     *           "decision": "approved",
                     *           "comment": "Checked the incident",
                     *           "created_at": "2026-11-02T10:05:00Z"
                     *         }
                     *       ],
                     *       "job_id": "job_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "decided_by": null,
                     *       "decision_reason": null,
                     *       "decided_at": "2026-11-02T10:05:00Z",
                     *       "completed_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:05:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["AccessRequest"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["DecisionForbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    cancelAccessRequest: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "actor_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc"
                 *     }
                 */
                "application/json": {
                    /** @description The caller's own user id (the requester). */
                    actor_id: string;
                };
            };
        };
        responses: {
            /** @description The cancelled request. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "read",
                     *       "status": "cancelled",
                     *       "requester_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_name": "payments",
                     *       "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "environment_name": "production",
                     *       "secret_id": "sec_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "secret": {
                     *         "cluster_name": "prod-eu-1",
                     *         "provider": "kubernetes",
                     *         "ref": "payments/stripe-api-key"
                     *       },
                     *       "justification": "INC-4521: verify the live key matches the dashboard",
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "workflow_id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workflow_version": 3,
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "approvals": [],
                     *       "job_id": null,
                     *       "decided_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "decision_reason": null,
                     *       "decided_at": "2026-11-02T10:01:00Z",
                     *       "completed_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["AccessRequest"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getRequestGitops: {
        parameters: {
            query?: {
                /** @description Seed 002's stop-gap; must be the caller's own user id. */
                user_id?: string;
            };
            header?: never;
            path: {
                /** @description The access request's id (`acr_…`). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The request's observations, oldest first. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "request_id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "observations": [
                     *         {
                     *           "id": "gob_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "request_id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "argocd_endpoint_id": "argo_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "mapping_id": "gam_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "app_name": "payments-api",
                     *           "state": "synced",
                     *           "sync_status": "Synced",
                     *           "health_status": "Healthy",
                     *           "applied_at": "2026-11-24T09:00:00Z",
                     *           "transitions": [
                     *             {
                     *               "sync_status": "OutOfSync",
                     *               "health_status": "Healthy",
                     *               "revision": "9f2c1e7b4a",
                     *               "observed_at": "2026-11-24T09:00:05Z"
                     *             },
                     *             {
                     *               "sync_status": "Synced",
                     *               "health_status": "Progressing",
                     *               "revision": "9f2c1e7b4a",
                     *               "observed_at": "2026-11-24T09:00:20Z"
                     *             },
                     *             {
                     *               "sync_status": "Synced",
                     *               "health_status": "Healthy",
                     *               "revision": "9f2c1e7b4a",
                     *               "observed_at": "2026-11-24T09:00:41Z"
                     *             }
                     *           ],
                     *           "last_checked_at": "2026-11-24T09:00:41Z",
                     *           "last_error": null,
                     *           "settled_at": "2026-11-24T09:00:41Z",
                     *           "created_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        observations: components["schemas"]["GitopsObservation"][];
                        request_id: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            /** @description GitOps is off on this Warden (`GITOPS_ENABLED`), so the route is absent; or no such object in your org. */
            404: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorResponse"];
                };
            };
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    rejectAccessRequest: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "approver_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abd",
                 *       "reason": "Use the read-only dashboard instead"
                 *     }
                 */
                "application/json": {
                    /** @description The caller's own user id. */
                    approver_id: string;
                    reason: string;
                };
            };
        };
        responses: {
            /** @description The rejected request. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "read",
                     *       "status": "rejected",
                     *       "requester_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_name": "payments",
                     *       "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "environment_name": "production",
                     *       "secret_id": "sec_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "secret": {
                     *         "cluster_name": "prod-eu-1",
                     *         "provider": "kubernetes",
                     *         "ref": "payments/stripe-api-key"
                     *       },
                     *       "justification": "INC-4521: verify the live key matches the dashboard",
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "workflow_id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workflow_version": 3,
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "approvals": [
                     *         {
                     *           "id": "rqa_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "approver_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *           "decision": "rejected",
                     *           "comment": "Use the read-only dashboard instead",
                     *           "created_at": "2026-11-02T10:02:00Z"
                     *         }
                     *       ],
                     *       "job_id": null,
                     *       "decided_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *       "decision_reason": "Use the read-only dashboard instead",
                     *       "decided_at": "2026-11-02T10:02:00Z",
                     *       "completed_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["AccessRequest"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["DecisionForbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listRequestWraps: {
        parameters: {
            query?: {
                /** @description Seed 002's stop-gap identity; accepted only when it is the caller's own user id (403 `ACTOR_MISMATCH` otherwise). */
                user_id?: string;
            };
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The request's wraps, oldest first. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        wraps: components["schemas"]["Wrap"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    retrieveRequestWrap: {
        parameters: {
            query?: {
                /** @description Seed 002's stop-gap identity; accepted only when it is the caller's own user id (403 `ACTOR_MISMATCH` otherwise). */
                user_id?: string;
            };
            header?: never;
            path: {
                /** @description The access request's `acr_` id. */
                id: components["parameters"]["AccessRequestIdPath"];
                /** @description The wrap's `wrp_` id. */
                wrap_id: components["parameters"]["WrapIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The wrap and its value. The value is never shown again. */
            200: {
                headers: {
                    /** @description Always `no-store`. */
                    "Cache-Control"?: string;
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "wrp_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "request_id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "read",
                     *       "status": "retrieved",
                     *       "created_by": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "size_bytes": 42,
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "retrieved_at": "2026-11-02T10:07:00Z",
                     *       "retrieved_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "created_at": "2026-11-02T10:06:00Z",
                     *       "value": "sk_live_the_current_value_fetched_by_agent"
                     *     }
                     */
                    "application/json": components["schemas"]["Wrap"] & {
                        /** @description The secret's value. */
                        value: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            410: components["responses"]["Gone"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createReadRequest: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "secret": {
                 *         "secret_id": "sec_01jd4v3k8m2q6r9t1w5y7z0abc"
                 *       },
                 *       "justification": "INC-4521: verify the live key matches the dashboard"
                 *     }
                 */
                "application/json": {
                    /** @description An environment of that project. */
                    environment_id: string;
                    /**
                     * Format: int32
                     * @description Seconds until the request expires (5 minutes to 7 days; default 24 hours): approvals are collected, and a value may be retrieved, until then.
                     * @default 86400
                     */
                    expires_in?: number;
                    /** @description Why the access is needed; approvers read it. */
                    justification: string;
                    /** @description The project (workspace) the secret belongs to. */
                    project_id: string;
                    secret: components["schemas"]["SecretReferenceInput"];
                };
            };
        };
        responses: {
            /** @description The request, pending (or approved when its workflow auto-approves). */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "acr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "read",
                     *       "status": "pending",
                     *       "requester_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_name": "payments",
                     *       "environment_id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "environment_name": "production",
                     *       "secret_id": "sec_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "secret": {
                     *         "cluster_name": "prod-eu-1",
                     *         "provider": "kubernetes",
                     *         "ref": "payments/stripe-api-key"
                     *       },
                     *       "justification": "INC-4521: verify the live key matches the dashboard",
                     *       "expires_at": "2026-11-03T10:00:00Z",
                     *       "workflow_id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workflow_version": 3,
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "approvals": [],
                     *       "job_id": null,
                     *       "decided_by": null,
                     *       "decision_reason": null,
                     *       "decided_at": null,
                     *       "completed_at": null,
                     *       "created_at": "2026-11-02T10:00:00Z",
                     *       "updated_at": "2026-11-02T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["AccessRequest"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listRoles: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every role of the org. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "roles": [
                     *         {
                     *           "id": "rol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "deployer",
                     *           "description": "Ships workspaces",
                     *           "built_in": false,
                     *           "permissions": [
                     *             "workspace.read",
                     *             "workspace.edit"
                     *           ],
                     *           "created_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        roles: components["schemas"]["Role"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createRole: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "deployer",
                 *       "description": "Ships workspaces",
                 *       "permissions": [
                 *         "workspace.read",
                 *         "workspace.edit"
                 *       ]
                 *     }
                 */
                "application/json": {
                    description?: string;
                    name: string;
                    permissions: string[];
                };
            };
        };
        responses: {
            /** @description The new role. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "rol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "deployer",
                     *       "description": "Ships workspaces",
                     *       "built_in": false,
                     *       "permissions": [
                     *         "workspace.read",
                     *         "workspace.edit"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Role"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["RoleGrantForbidden"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The role's id. */
                id: components["parameters"]["RoleIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The role. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "rol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "deployer",
                     *       "description": "Ships workspaces",
                     *       "built_in": false,
                     *       "permissions": [
                     *         "workspace.read",
                     *         "workspace.edit"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Role"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The role's id. */
                id: components["parameters"]["RoleIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["RoleGrantForbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setRolePermissions: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The role's id. */
                id: components["parameters"]["RoleIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "permissions": [
                 *         "workspace.read"
                 *       ]
                 *     }
                 */
                "application/json": {
                    permissions: string[];
                };
            };
        };
        responses: {
            /** @description The role with its new permissions. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "rol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "deployer",
                     *       "description": "Ships workspaces",
                     *       "built_in": false,
                     *       "permissions": [
                     *         "workspace.read",
                     *         "workspace.edit"
                     *       ],
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Role"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["RoleGrantForbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listDiscoveredSecrets: {
        parameters: {
            query?: {
                /** @description Only secrets in this cluster. */
                cluster_name?: components["schemas"]["SecretClusterName"];
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /**
                 * @description `key:value`; repeat it to require several labels (all must match).
                 * @example [
                 *       "env:production",
                 *       "app:payments"
                 *     ]
                 */
                label?: string[];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Only secrets kept by this provider. */
                provider?: components["schemas"]["SecretProvider"];
                /**
                 * @description Only secrets whose `ref` starts with this text.
                 * @example payments/
                 */
                ref_prefix?: string;
                /** @description Only secrets with this status. */
                status?: components["schemas"]["DiscoveredSecretStatus"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of discovered secrets. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "secrets": [
                     *         {
                     *           "id": "sec_01jdc8w2f4k6m8p0r2t4v6x8z0",
                     *           "cluster_name": "prod-eu-1",
                     *           "provider": "kubernetes",
                     *           "ref": "payments/db-credentials",
                     *           "labels": {
                     *             "app": "payments",
                     *             "env": "production"
                     *           },
                     *           "status": "active",
                     *           "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "first_seen": "2026-11-24T09:00:00Z",
                     *           "last_seen": "2026-11-25T09:00:00Z",
                     *           "created_at": "2026-11-24T09:00:02Z",
                     *           "updated_at": "2026-11-24T09:00:02Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        secrets: components["schemas"]["DiscoveredSecret"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getDiscoveredSecret: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The discovered secret's id (`sec_…`). */
                id: components["parameters"]["SecretIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The discovered secret. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "sec_01jdc8w2f4k6m8p0r2t4v6x8z0",
                     *       "cluster_name": "prod-eu-1",
                     *       "provider": "kubernetes",
                     *       "ref": "payments/db-credentials",
                     *       "labels": {
                     *         "app": "payments",
                     *         "env": "production"
                     *       },
                     *       "status": "active",
                     *       "agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "first_seen": "2026-11-24T09:00:00Z",
                     *       "last_seen": "2026-11-25T09:00:00Z",
                     *       "created_at": "2026-11-24T09:00:02Z",
                     *       "updated_at": "2026-11-24T09:00:02Z"
                     *     }
                     */
                    "application/json": components["schemas"]["DiscoveredSecret"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getStateSnapshot: {
        parameters: {
            query?: {
                /** @description Whose state; defaults to the caller's org. */
                org_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The snapshot. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "generated_at": "2026-11-25T12:00:00Z",
                     *       "agents": [
                     *         {
                     *           "id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "billing-bot",
                     *           "status": "active",
                     *           "policy_ids": [
                     *             "pol_01jd4v3k8m2q6r9t1w5y7z0abc"
                     *           ],
                     *           "daily_budget": 25,
                     *           "spent_today_usd": 7.5,
                     *           "budget_remaining_usd": 17.5
                     *         }
                     *       ],
                     *       "policies": [],
                     *       "vendors": [],
                     *       "gateway_keys": [],
                     *       "pending_approvals": [],
                     *       "truncated": false
                     *     }
                     */
                    "application/json": components["schemas"]["StateSnapshot"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createSupportRequestCsm: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "organization_id": "org_abc123",
                 *       "workspace_id": "ws_abc123",
                 *       "subject": "Need help with SIEM export",
                 *       "message": "Datadog export returned 502 at 2026-02-18T12:00:00Z",
                 *       "category": "integrations",
                 *       "contact_email": "ops@example.com"
                 *     }
                 */
                "application/json": components["schemas"]["SupportRequest"];
            };
        };
        responses: {
            201: components["responses"]["SupportTicketDelivered"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createSupportRequestEmail: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "organization_id": "org_abc123",
                 *       "workspace_id": "ws_abc123",
                 *       "subject": "Need help with SIEM export",
                 *       "message": "Datadog export returned 502 at 2026-02-18T12:00:00Z",
                 *       "category": "integrations",
                 *       "contact_email": "ops@example.com"
                 *     }
                 */
                "application/json": components["schemas"]["SupportRequest"];
            };
        };
        responses: {
            201: components["responses"]["SupportTicketDelivered"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createSupportRequestPriority: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "organization_id": "org_abc123",
                 *       "workspace_id": "ws_abc123",
                 *       "subject": "Need help with SIEM export",
                 *       "message": "Datadog export returned 502 at 2026-02-18T12:00:00Z",
                 *       "category": "integrations",
                 *       "contact_email": "ops@example.com"
                 *     }
                 */
                "application/json": components["schemas"]["SupportRequest"];
            };
        };
        responses: {
            201: components["responses"]["SupportTicketDelivered"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createSupportRequestSlack: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "organization_id": "org_abc123",
                 *       "workspace_id": "ws_abc123",
                 *       "subject": "Need help with SIEM export",
                 *       "message": "Datadog export returned 502 at 2026-02-18T12:00:00Z",
                 *       "category": "integrations",
                 *       "contact_email": "ops@example.com"
                 *     }
                 */
                "application/json": components["schemas"]["SupportRequest"];
            };
        };
        responses: {
            201: components["responses"]["SupportTicketDelivered"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listSupportTickets: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of tickets. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "tickets": [
                     *         {
                     *           "id": "tkt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_abc123",
                     *           "workspace_id": "ws_abc123",
                     *           "channel": "email",
                     *           "status": "open",
                     *           "subject": "Need help with SIEM export",
                     *           "message": "Datadog export returned 502 at 2026-02-18T12:00:00Z",
                     *           "category": "integrations",
                     *           "contact_email": "ops@example.com",
                     *           "sla_due_at": "2026-02-20T12:05:00Z",
                     *           "delivery_status": "failed",
                     *           "delivery_attempts": 1,
                     *           "delivery_error": "SMTP: connect ECONNREFUSED",
                     *           "delivered_at": null,
                     *           "created_at": "2026-02-18T12:05:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        tickets: components["schemas"]["SupportTicket"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    retrySupportTicketDelivery: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The ticket's id (`tkt_…`). */
                id: components["parameters"]["SupportTicketIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["SupportTicketDelivered"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createTrustHeaders: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                 *       "request_body_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                 *     }
                 */
                "application/json": {
                    /** @description Lowercase hex SHA-256 of the exact request body the agent will send. */
                    request_body_hash: string;
                    sekuire_id: string;
                };
            };
        };
        responses: {
            /** @description The headers to attach, and until when a receiver should accept them. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "headers": {
                     *         "X-Warden-Agent": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *         "X-Warden-Body-SHA256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                     *         "X-Warden-Timestamp": "2026-11-24T18:00:00.000Z",
                     *         "X-Warden-Key-Id": "wk_Gf3sHn2XbQ",
                     *         "X-Warden-Signature": "x_jZ7raZZDAISaLDJK2I0uVOCJ7b1gkhXz8s4QpFx0a9MsaO1ocaQuNMLbt1a0iQ9FkRJCLyL-mxcRaxkY5Uuw"
                     *       },
                     *       "expires_at": "2026-11-24T18:05:00.000Z"
                     *     }
                     */
                    "application/json": {
                        /** Format: date-time */
                        expires_at: string;
                        headers: {
                            "X-Warden-Agent": string;
                            "X-Warden-Body-SHA256": string;
                            "X-Warden-Key-Id": string;
                            "X-Warden-Signature": string;
                            /** Format: date-time */
                            "X-Warden-Timestamp": string;
                        };
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getTrustProfile: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The agent's DID, `did:sekuire:<sekuire_id>`. */
                did: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The profile. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "name": "My Agent",
                     *       "version": "1.0.0",
                     *       "status": "active",
                     *       "verified": true,
                     *       "key_proven_at": "2024-01-15T10:30:02Z",
                     *       "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                     *       "key_fingerprint": "SHA256:If4x36FUomFia/hUBG/SJxt77UtqvkWqWId+9H+XIbk",
                     *       "registered_at": "2024-01-15T10:30:00Z",
                     *       "last_seen_at": "2026-11-24T18:00:00Z",
                     *       "revoked_at": null,
                     *       "disabled_reason": null,
                     *       "installations": [
                     *         {
                     *           "id": "inst_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "workspace_id": "ws_abc123",
                     *           "status": "active",
                     *           "lease_expires_at": "2026-11-24T18:03:00Z",
                     *           "platform": "kubernetes",
                     *           "created_at": "2026-11-01T09:00:00Z"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        did: string;
                        disabled_reason: string | null;
                        installations: {
                            /** Format: date-time */
                            created_at: string;
                            id: string;
                            /** Format: date-time */
                            lease_expires_at: string | null;
                            platform: string | null;
                            /**
                             * @description `pending` until the first lease; `stale` once the lease lapsed.
                             * @enum {string}
                             */
                            status: "pending" | "active" | "stale" | "revoked";
                            workspace_id: string;
                        }[];
                        /** @description SHA256: and the unpadded base64 of the key hash, as OpenSSH prints fingerprints. */
                        key_fingerprint: string;
                        /** Format: date-time */
                        key_proven_at: string | null;
                        /**
                         * Format: date-time
                         * @description The latest agent heartbeat or installation lease.
                         */
                        last_seen_at: string | null;
                        name: string;
                        public_key: string;
                        /** Format: date-time */
                        registered_at: string;
                        /** Format: date-time */
                        revoked_at: string | null;
                        sekuire_id: string;
                        /** @enum {string} */
                        status: "active" | "disabled" | "revoked";
                        /** @description The org proved it holds the key's private key. */
                        verified: boolean;
                        version: string | null;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    verifyTrust: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                 *       "signature": "bHjMORY2/+0fSrdjCDSeQMgdTodpxbC5uYz5kCbRwmeYZEdeUbCzlybWkLuq60s92qbJKxJRUzXcnF60Z52FBg==",
                 *       "context": {
                 *         "workspace_id": "ws_abc123"
                 *       }
                 *     }
                 */
                "application/json": {
                    context?: {
                        [key: string]: unknown;
                    };
                    sekuire_id: string;
                    signature: string;
                };
            };
        };
        responses: {
            /** @description The verdict, with a reason per check. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "valid": true,
                     *       "sekuire_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "did": "did:sekuire:21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "reasons": [
                     *         "signature_valid",
                     *         "key_proven",
                     *         "agent_active",
                     *         "installed_in_workspace"
                     *       ],
                     *       "checked_at": "2026-11-24T18:00:00Z"
                     *     }
                     */
                    "application/json": {
                        /** Format: date-time */
                        checked_at: string;
                        did: string;
                        reasons: ("signature_valid" | "signature_invalid" | "key_proven" | "key_unproven" | "agent_active" | "agent_disabled" | "agent_revoked" | "installed_in_workspace" | "not_installed_in_workspace")[];
                        sekuire_id: string;
                        valid: boolean;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getTxStats: {
        parameters: {
            query?: {
                /**
                 * @description Start of the period (inclusive); default 30 days before `to`.
                 * @example 2026-10-26T00:00:00Z
                 */
                from?: components["parameters"]["StatsFrom"];
                org_id?: string;
                /**
                 * @description End of the period (exclusive); default now.
                 * @example 2026-11-25T00:00:00Z
                 */
                to?: components["parameters"]["StatsTo"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The org's aggregates. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "from": "2026-10-26T00:00:00Z",
                     *       "to": "2026-11-25T00:00:00Z",
                     *       "transfers": 42,
                     *       "settled": 40,
                     *       "pending": 2,
                     *       "volume": [
                     *         {
                     *           "currency": "USD",
                     *           "amount": 125000,
                     *           "count": 40
                     *         }
                     *       ],
                     *       "amount_usd_total": 1250,
                     *       "hires": 3
                     *     }
                     */
                    "application/json": components["schemas"]["TxStats"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createTransfer: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": {
                    amount: components["schemas"]["MinorUnits"];
                    /** @description Optional; when sent it must equal `amount` / 100 (422 `AMOUNT_USD_MISMATCH`). Warden derives the value governance counts from `amount`. */
                    amount_usd?: number;
                    /** @description The approved approval of a transfer that answered 202 `approval_required`. */
                    approval_id?: string;
                    asset?: string;
                    currency: components["schemas"]["CurrencyCode"];
                    idempotency_key?: string;
                    mandate_id?: string;
                    metadata?: {
                        [key: string]: string;
                    };
                    network?: string;
                    rail?: components["schemas"]["TransferRail"];
                    /** @description A secret; never stored, returned, logged or audited. */
                    shared_payment_token?: string;
                    to_address?: string;
                    to_agent_id?: string;
                };
            };
        };
        responses: {
            /** @description Settled on the ledger (or the same transfer again, for a repeated idempotency key). */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "tr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "kind": "transfer",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "from_agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "to_agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abd",
                     *       "to_address": null,
                     *       "rail": "ledger",
                     *       "currency": "USD",
                     *       "amount": 2500,
                     *       "amount_usd": 25,
                     *       "network": null,
                     *       "asset": null,
                     *       "mandate_id": null,
                     *       "has_shared_payment_token": false,
                     *       "status": "settled",
                     *       "pending_reason": null,
                     *       "approval_id": null,
                     *       "idempotency_key": "order-7731",
                     *       "metadata": {
                     *         "task": "summarise-q3"
                     *       },
                     *       "created_at": "2026-11-25T10:00:00Z",
                     *       "settled_at": "2026-11-25T10:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            /** @description Recorded, not settled - waiting for a human's approval, or on a rail Warden does not move money on. */
            202: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "tr_01jd4v3k8m2q6r9t1w5y7z0abe",
                     *       "kind": "transfer",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "from_agent_id": "agt_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "to_agent_id": null,
                     *       "to_address": "merchant_acct_9921",
                     *       "rail": "spt",
                     *       "currency": "USD",
                     *       "amount": 1999,
                     *       "amount_usd": 19.99,
                     *       "network": null,
                     *       "asset": null,
                     *       "mandate_id": null,
                     *       "has_shared_payment_token": true,
                     *       "status": "pending",
                     *       "pending_reason": "rail_not_supported",
                     *       "approval_id": null,
                     *       "idempotency_key": "order-7732",
                     *       "metadata": {},
                     *       "created_at": "2026-11-25T10:00:00Z",
                     *       "settled_at": null
                     *     }
                     */
                    "application/json": components["schemas"]["Transfer"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listUserRoles: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Only assignments of this role. */
                role_id?: string;
                /** @description Only this user's assignments. */
                user_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of assignments. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "user_roles": [
                     *         {
                     *           "id": "ura_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "user_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "role_id": "rol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "role_name": "deployer",
                     *           "created_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        user_roles: components["schemas"]["UserRole"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    assignUserRole: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "user_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "role_id": "rol_01jd4v3k8m2q6r9t1w5y7z0abc"
                 *     }
                 */
                "application/json": {
                    role_id: string;
                    user_id: string;
                };
            };
        };
        responses: {
            /** @description The assignment. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "ura_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "user_id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "role_id": "rol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "role_name": "deployer",
                     *       "created_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["UserRole"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["RoleGrantForbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    removeUserRole: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The assignment's id. */
                id: components["parameters"]["UserRoleIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["RoleGrantForbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listUsers: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
                /** @description Whose users; defaults to the caller's org. */
                org_id?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of users. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "users": [
                     *         {
                     *           "id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "email": "jane@example.com",
                     *           "role": "admin",
                     *           "email_verified": false,
                     *           "email_verified_at": null,
                     *           "created_at": "2026-11-01T08:59:00Z",
                     *           "last_login_at": null,
                     *           "created_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abd"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        users: components["schemas"]["User"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createUser: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "email": "jane@example.com",
                 *       "password": "correct horse battery staple",
                 *       "role": "admin",
                 *       "first_name": "Jane",
                 *       "last_name": "Doe"
                 *     }
                 */
                "application/json": {
                    /** Format: email */
                    email: string;
                    first_name?: string;
                    last_name?: string;
                    org_id?: string;
                    password: string;
                    role?: components["schemas"]["BuiltInRoleName"];
                };
            };
        };
        responses: {
            /** @description The new user. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "usr_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "email": "jane@example.com",
                     *       "role": "admin",
                     *       "email_verified": false,
                     *       "email_verified_at": null,
                     *       "created_at": "2026-11-01T08:59:00Z",
                     *       "last_login_at": null,
                     *       "created_by": "usr_01jd4v3k8m2q6r9t1w5y7z0abd"
                     *     }
                     */
                    "application/json": components["schemas"]["User"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            402: components["responses"]["PaymentRequired"];
            403: components["responses"]["GrantForbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's id. */
                user_id: components["parameters"]["UserIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listRolesOfUser: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The user's id. */
                user_id: components["parameters"]["UserIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The user's roles. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "roles": [
                     *         {
                     *           "id": "rol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "deployer",
                     *           "description": "Ships workspaces",
                     *           "built_in": false,
                     *           "permissions": [
                     *             "workspace.read",
                     *             "workspace.edit"
                     *           ],
                     *           "created_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ]
                     *     }
                     */
                    "application/json": {
                        roles: components["schemas"]["Role"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listVendors: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of vendors. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "vendors": [
                     *         {
                     *           "id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "OpenAI",
                     *           "base_url": "https://api.openai.com/v1",
                     *           "auth_type": "bearer",
                     *           "header_name": null,
                     *           "cost_header": "X-Cost-Usd",
                     *           "api_key_last_four": "x9Qz",
                     *           "credential_rotated_at": null,
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "updated_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        vendors: components["schemas"]["Vendor"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createVendor: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                 *       "name": "OpenAI",
                 *       "base_url": "https://api.openai.com/v1",
                 *       "api_key": "sk-proj-example-not-a-real-key-x9Qz",
                 *       "auth_type": "bearer",
                 *       "cost_header": "X-Cost-Usd"
                 *     }
                 */
                "application/json": {
                    /** @description The vendor's credential; write-only. */
                    api_key: string;
                    auth_type?: components["schemas"]["VendorAuthType"];
                    base_url: string;
                    cost_header?: string | null;
                    header_name?: string | null;
                    name: string;
                    org_id?: string;
                };
            };
        };
        responses: {
            /** @description The new vendor (without its credential). */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "OpenAI",
                     *       "base_url": "https://api.openai.com/v1",
                     *       "auth_type": "bearer",
                     *       "header_name": null,
                     *       "cost_header": "X-Cost-Usd",
                     *       "api_key_last_four": "x9Qz",
                     *       "credential_rotated_at": null,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Vendor"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getVendor: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The vendor's id (`vnd_…`). */
                id: components["parameters"]["VendorIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The vendor. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "OpenAI",
                     *       "base_url": "https://api.openai.com/v1",
                     *       "auth_type": "bearer",
                     *       "header_name": null,
                     *       "cost_header": "X-Cost-Usd",
                     *       "api_key_last_four": "x9Qz",
                     *       "credential_rotated_at": null,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Vendor"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteVendor: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The vendor's id (`vnd_…`). */
                id: components["parameters"]["VendorIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateVendor: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The vendor's id (`vnd_…`). */
                id: components["parameters"]["VendorIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "cost_header": "X-Cost-Usd"
                 *     }
                 */
                "application/json": {
                    auth_type?: components["schemas"]["VendorAuthType"];
                    base_url?: string;
                    cost_header?: string | null;
                    header_name?: string | null;
                    name?: string;
                };
            };
        };
        responses: {
            /** @description The changed vendor. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "OpenAI",
                     *       "base_url": "https://api.openai.com/v1",
                     *       "auth_type": "bearer",
                     *       "header_name": null,
                     *       "cost_header": "X-Cost-Usd",
                     *       "api_key_last_four": "x9Qz",
                     *       "credential_rotated_at": null,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Vendor"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    rotateVendorCredential: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The vendor's id (`vnd_…`). */
                id: components["parameters"]["VendorIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "api_key": "sk-proj-example-new-key-R2d2"
                 *     }
                 */
                "application/json": {
                    /** @description The new credential; write-only. */
                    api_key: string;
                };
            };
        };
        responses: {
            /** @description The vendor, with the new credential's last four characters. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "vnd_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "OpenAI",
                     *       "base_url": "https://api.openai.com/v1",
                     *       "auth_type": "bearer",
                     *       "header_name": null,
                     *       "cost_header": "X-Cost-Usd",
                     *       "api_key_last_four": "R2d2",
                     *       "credential_rotated_at": "2026-11-25T09:00:00Z",
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-25T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Vendor"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listWorkflows: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of workflows. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "workflows": [
                     *         {
                     *           "id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "production patches",
                     *           "description": "Two security approvers for any change in production",
                     *           "match": {
                     *             "environment_names": [
                     *               "production"
                     *             ],
                     *             "kinds": [
                     *               "patch"
                     *             ]
                     *           },
                     *           "required_approvals": 2,
                     *           "approver_roles": [
                     *             "security"
                     *           ],
                     *           "auto_approve": false,
                     *           "priority": 100,
                     *           "version": 1,
                     *           "created_at": "2026-11-24T09:00:00Z",
                     *           "updated_at": "2026-11-24T09:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        workflows: components["schemas"]["Workflow"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "production patches",
                 *       "description": "Two security approvers for any change in production",
                 *       "match": {
                 *         "environment_names": [
                 *           "production"
                 *         ],
                 *         "kinds": [
                 *           "patch"
                 *         ]
                 *       },
                 *       "required_approvals": 2,
                 *       "approver_roles": [
                 *         "security"
                 *       ],
                 *       "priority": 100
                 *     }
                 */
                "application/json": components["schemas"]["WorkflowInput"];
            };
        };
        responses: {
            /** @description The new workflow. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "production patches",
                     *       "description": "Two security approvers for any change in production",
                     *       "match": {
                     *         "environment_names": [
                     *           "production"
                     *         ],
                     *         "kinds": [
                     *           "patch"
                     *         ]
                     *       },
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "auto_approve": false,
                     *       "priority": 100,
                     *       "version": 1,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workflow"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getWorkflow: {
        parameters: {
            query?: {
                /** @description A past (or the current) version instead of the current one. */
                version?: number;
            };
            header?: never;
            path: {
                /** @description The workflow's `wf_` id. A workflow of another org answers 404. */
                id: components["parameters"]["WorkflowIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The workflow. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "production patches",
                     *       "description": "Two security approvers for any change in production",
                     *       "match": {
                     *         "environment_names": [
                     *           "production"
                     *         ],
                     *         "kinds": [
                     *           "patch"
                     *         ]
                     *       },
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "auto_approve": false,
                     *       "priority": 100,
                     *       "version": 1,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workflow"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    updateWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workflow's `wf_` id. A workflow of another org answers 404. */
                id: components["parameters"]["WorkflowIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "production patches",
                 *       "description": "Two security approvers for any change in production",
                 *       "match": {
                 *         "environment_names": [
                 *           "production"
                 *         ],
                 *         "kinds": [
                 *           "patch"
                 *         ]
                 *       },
                 *       "required_approvals": 2,
                 *       "approver_roles": [
                 *         "security"
                 *       ],
                 *       "priority": 100
                 *     }
                 */
                "application/json": components["schemas"]["WorkflowInput"];
            };
        };
        responses: {
            /** @description The workflow at its new version. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "wf_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "org_id": "org_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "production patches",
                     *       "description": "Two security approvers for any change in production",
                     *       "match": {
                     *         "environment_names": [
                     *           "production"
                     *         ],
                     *         "kinds": [
                     *           "patch"
                     *         ]
                     *       },
                     *       "required_approvals": 2,
                     *       "approver_roles": [
                     *         "security"
                     *       ],
                     *       "auto_approve": false,
                     *       "priority": 100,
                     *       "version": 1,
                     *       "created_at": "2026-11-24T09:00:00Z",
                     *       "updated_at": "2026-11-24T09:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Workflow"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteWorkflow: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workflow's `wf_` id. A workflow of another org answers 404. */
                id: components["parameters"]["WorkflowIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getWorkspacePolicy: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The workspace's effective policy. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_ids": [
                     *         "pol_01jd4v3k8m2q6r9t1w5y7z0abc"
                     *       ],
                     *       "policies": [
                     *         {
                     *           "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "version": 2,
                     *           "name": "support-bot",
                     *           "allowed_actions": [
                     *             "chat.*"
                     *           ],
                     *           "denied_path_prefixes": [
                     *             "/admin"
                     *           ],
                     *           "max_cost_per_request": 0.5,
                     *           "require_approval": false,
                     *           "approval_min_cost": 0.25,
                     *           "approval_actions": [
                     *             "chat.refund"
                     *           ],
                     *           "created_at": "2026-11-24T10:00:00Z"
                     *         }
                     *       ],
                     *       "merged": {
                     *         "default_deny": false,
                     *         "allowed_action_sets": [
                     *           [
                     *             "chat.*"
                     *           ]
                     *         ],
                     *         "denied_path_prefixes": [
                     *           "/admin"
                     *         ],
                     *         "max_cost_per_request": 0.5,
                     *         "require_approval": false,
                     *         "approval_min_cost": 0.25,
                     *         "approval_actions": [
                     *           "chat.refund"
                     *         ]
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["WorkspacePolicy"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    setWorkspacePolicies: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. */
                id: components["parameters"]["WorkspaceIdPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "policy_ids": [
                 *         "pol_01jd4v3k8m2q6r9t1w5y7z0abc"
                 *       ]
                 *     }
                 */
                "application/json": components["schemas"]["PolicyIdList"];
            };
        };
        responses: {
            /** @description The workspace's new effective policy. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "policy_ids": [
                     *         "pol_01jd4v3k8m2q6r9t1w5y7z0abc"
                     *       ],
                     *       "policies": [
                     *         {
                     *           "policy_id": "pol_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "version": 1,
                     *           "name": "support-bot",
                     *           "allowed_actions": [
                     *             "chat.*"
                     *           ],
                     *           "denied_path_prefixes": [
                     *             "/admin"
                     *           ],
                     *           "max_cost_per_request": 0.5,
                     *           "require_approval": true,
                     *           "approval_min_cost": null,
                     *           "approval_actions": [],
                     *           "created_at": "2026-11-24T10:00:00Z"
                     *         }
                     *       ],
                     *       "merged": {
                     *         "default_deny": false,
                     *         "allowed_action_sets": [
                     *           [
                     *             "chat.*"
                     *           ]
                     *         ],
                     *         "denied_path_prefixes": [
                     *           "/admin"
                     *         ],
                     *         "max_cost_per_request": 0.5,
                     *         "require_approval": true,
                     *         "approval_min_cost": null,
                     *         "approval_actions": []
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["WorkspacePolicy"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    listEnvironments: {
        parameters: {
            query?: {
                /** @description The `next_cursor` of the previous page. Omit it for the first page. */
                cursor?: components["parameters"]["Cursor"];
                /** @description How many items a page holds at most. */
                limit?: components["parameters"]["Limit"];
            };
            header?: never;
            path: {
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of environments. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "environments": [
                     *         {
                     *           "id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *           "name": "staging",
                     *           "created_at": "2026-11-24T18:00:00Z"
                     *         }
                     *       ],
                     *       "has_more": false,
                     *       "next_cursor": null
                     *     }
                     */
                    "application/json": components["schemas"]["Pagination"] & {
                        environments: components["schemas"]["Environment"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createEnvironment: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "name": "staging"
                 *     }
                 */
                "application/json": {
                    name: string;
                };
            };
        };
        responses: {
            /** @description The new environment. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "id": "env_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "workspace_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "project_id": "ws_01jd4v3k8m2q6r9t1w5y7z0abc",
                     *       "name": "staging",
                     *       "created_at": "2026-11-24T18:00:00Z"
                     *     }
                     */
                    "application/json": components["schemas"]["Environment"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    deleteEnvironment: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The environment's id. */
                environment_id: string;
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            204: components["responses"]["NoContent"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    createInstallToken: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The workspace's id. A workspace of another org answers 404. */
                workspace_id: components["parameters"]["WorkspaceIdOfPath"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                /**
                 * @example {
                 *       "agent_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                 *       "expiry_minutes": 15
                 *     }
                 */
                "application/json": {
                    /** @description The agent's `agt_` id or `sekuire_id`. */
                    agent_id: string;
                    /**
                     * Format: int32
                     * @default 15
                     */
                    expiry_minutes?: number;
                };
            };
        };
        responses: {
            /** @description The token, shown once. */
            201: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "token": "skt_u2ZQfOpyP01KcEDfdmu0yciIBU6SnLJV3aB9cD",
                     *       "expires_at": "2026-02-03T12:15:00Z",
                     *       "agent_id": "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9",
                     *       "workspace_id": "ws_abc123"
                     *     }
                     */
                    "application/json": {
                        /** @description The agent as the request named it. */
                        agent_id: string;
                        /** Format: date-time */
                        expires_at: string;
                        token: string;
                        workspace_id: string;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["UnprocessableEntity"];
            429: components["responses"]["TooManyRequests"];
            500: components["responses"]["InternalError"];
            503: components["responses"]["ServiceUnavailable"];
        };
    };
    getDocs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The reference portal. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /** @example <!DOCTYPE html><html><head><title>Warden API</title></head>…</html> */
                    "text/html": string;
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
        };
    };
    getFavicon: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The icon. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "image/x-icon": string;
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
        };
    };
    getHealth: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process is alive. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "ok"
                     *     }
                     */
                    "application/json": components["schemas"]["Health"];
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Metrics in the Prometheus text format, version 0.0.4. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example # HELP warden_http_requests_total HTTP requests served, by operation and status.
                     *     # TYPE warden_http_requests_total counter
                     *     warden_http_requests_total{operation_id="getHealth",method="GET",status="200"} 42
                     */
                    "text/plain": string;
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
        };
    };
    getOpenApiJson: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The bundled OpenAPI document. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        info: {
                            [key: string]: unknown;
                        };
                        /** @example 3.0.3 */
                        openapi: string;
                        paths: {
                            [key: string]: unknown;
                        };
                    } & {
                        [key: string]: unknown;
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
        };
    };
    getOpenApiYaml: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The bundled OpenAPI document. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example openapi: 3.0.3
                     *     info:
                     *       title: Warden API
                     */
                    "application/yaml": string;
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready to serve traffic. */
            200: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "ready",
                     *       "checks": {
                     *         "database": {
                     *           "status": "ok",
                     *           "latency_ms": 1.4
                     *         },
                     *         "migrations": {
                     *           "status": "ok",
                     *           "latency_ms": 2.1,
                     *           "pending": []
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            400: components["responses"]["BadRequest"];
            500: components["responses"]["InternalError"];
            /** @description Not ready; `checks` says which check failed and why. */
            503: {
                headers: {
                    "X-Request-Id": components["headers"]["RequestId"];
                    [name: string]: unknown;
                };
                content: {
                    /**
                     * @example {
                     *       "status": "not_ready",
                     *       "checks": {
                     *         "database": {
                     *           "status": "ok",
                     *           "latency_ms": 1.2
                     *         },
                     *         "migrations": {
                     *           "status": "fail",
                     *           "latency_ms": 2,
                     *           "error": "1 migration is not applied",
                     *           "pending": [
                     *             "AddAuditEvents1730000000000"
                     *           ]
                     *         }
                     *       }
                     *     }
                     */
                    "application/json": components["schemas"]["Readiness"];
                };
            };
        };
    };
}
