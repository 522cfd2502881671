/**
 * Every `code` Warden can answer with, once: its HTTP status and what it means to a client.
 * The spec's `ErrorCode` schema repeats this list as its `enum` and `x-enumDescriptions`
 * (`<status> — <meaning>`), which the docs portal shows; test/error-codes.test.ts keeps the two equal.
 * A code is never renamed or reused for another meaning: clients branch on it.
 */
export const ERROR_CODES = {
  // 400
  MALFORMED_HTTP: { status: 400, meaning: 'The request is not valid HTTP (Node’s parser refused it before routing).' },
  MALFORMED_JSON: { status: 400, meaning: 'The request body is not valid JSON in UTF-8.' },
  MALFORMED_CONTENT_ENCODING: { status: 400, meaning: 'The request body does not decode as its Content-Encoding says.' },
  MALFORMED_PATH: { status: 400, meaning: 'A path parameter is not valid percent-encoding.' },
  INCOMPLETE_BODY: { status: 400, meaning: 'The request body ended before its declared length.' },
  JSON_TOO_DEEP: { status: 400, meaning: 'The JSON body nests deeper than Warden accepts.' },
  INVALID_PARAMETER: { status: 400, meaning: 'A path, query or header parameter fails its schema, or is not one the operation takes.' },
  CREDENTIALS_CONFLICT: { status: 400, meaning: 'The request presents two different credentials; send one.' },
  INVALID_CURSOR: { status: 400, meaning: 'The pagination cursor is not one Warden gave out; pass next_cursor from the previous page.' },

  // 401
  CREDENTIAL_MISSING: { status: 401, meaning: 'No credential was sent: send X-API-Key or Authorization: Bearer.' },
  CREDENTIAL_MALFORMED: { status: 401, meaning: 'The credential is not a well-formed Warden credential (or its checksum is wrong).' },
  CREDENTIAL_INVALID: { status: 401, meaning: 'The credential is not valid.' },
  CREDENTIAL_EXPIRED: { status: 401, meaning: 'The credential has expired.' },
  CREDENTIAL_REVOKED: { status: 401, meaning: 'The credential, its agent or its creator has been revoked, disabled or removed.' },
  DEVICE_NOT_BOUND: {
    status: 401,
    meaning: 'The API key is bound to devices and X-Warden-Device names none of them: run `warden login` again.',
  },
  LOGIN_FAILED: { status: 401, meaning: 'The email or password is wrong.' },
  LINK_INVALID: { status: 401, meaning: 'The magic or verification link is not valid.' },
  LINK_USED: { status: 401, meaning: 'The link has already been used, or a newer one replaced it.' },
  LINK_EXPIRED: { status: 401, meaning: 'The link has expired; ask for a new one.' },
  PIN_INVALID: { status: 401, meaning: 'The admin PIN is wrong.' },
  PIN_USED: { status: 401, meaning: 'The admin PIN has been used; request a new one.' },
  PIN_EXPIRED: { status: 401, meaning: 'The admin PIN has expired; request a new one.' },
  PIN_ATTEMPTS_EXCEEDED: { status: 401, meaning: 'Too many wrong PINs for this challenge; request a new one.' },
  INSTALL_TOKEN_INVALID: { status: 401, meaning: 'The install token is not valid.' },
  INSTALL_TOKEN_EXPIRED: { status: 401, meaning: 'The install token has expired.' },
  INSTALL_TOKEN_USED: { status: 401, meaning: 'The install token has been used; recover the installation to bootstrap again.' },
  REFRESH_TOKEN_INVALID: { status: 401, meaning: 'The refresh token is not valid for this installation.' },
  REFRESH_TOKEN_REUSED: { status: 401, meaning: 'A replaced refresh token came back; every token of the installation is now revoked.' },

  // 402
  AUDIT_LOGS_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include audit logs.' },
  COMPLIANCE_REPORTS_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include compliance reports.' },
  CUSTOM_RETENTION_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include a custom audit retention.' },
  CUSTOM_ROLES_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include custom roles.' },
  SIEM_EXPORT_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include SIEM export.' },
  EMAIL_SUPPORT_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include email support.' },
  PRIORITY_SUPPORT_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include priority support.' },
  SLACK_SUPPORT_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include the Slack support channel.' },
  DEDICATED_CSM_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include a dedicated customer success manager.' },
  AGENTS_LIMIT_REACHED: { status: 402, meaning: 'The org’s plan allows no more agents.' },
  API_KEYS_LIMIT_REACHED: { status: 402, meaning: 'The org’s plan allows no more live API keys.' },
  USERS_LIMIT_REACHED: { status: 402, meaning: 'The org’s plan allows no more users.' },
  WORKSPACES_LIMIT_REACHED: { status: 402, meaning: 'The org’s plan allows no more workspaces.' },

  // 403
  PERMISSION_DENIED: { status: 403, meaning: 'The credential lacks the permission the operation needs; the message names it.' },
  CREDENTIAL_NOT_ACCEPTED: { status: 403, meaning: 'This kind of credential is not accepted by the operation.' },
  ORG_CREDENTIAL_REQUIRED: { status: 403, meaning: 'The operation acts inside an org, and the credential belongs to none.' },
  PLATFORM_ADMIN_REQUIRED: { status: 403, meaning: 'Only a platform admin session may do this.' },
  PRIVILEGE_ESCALATION: { status: 403, meaning: 'The change would grant or remove more than the caller holds.' },
  GRANT_REQUIRES_OWNER: {
    status: 403,
    meaning:
      'Only an org owner grants a person the power to decide requests and approvals or to manage users and roles, ' +
      'or touches a role a workflow names in approver_roles.',
  },
  NOT_THIS_AGENT: { status: 403, meaning: 'An agent secret works only on its own agent’s routes.' },
  NOT_THIS_INSTALLATION: { status: 403, meaning: 'A runtime token works only on its own installation’s lease.' },
  GATEWAY_KEY_AGENT_STOPPED: { status: 403, meaning: 'The gateway key’s agent is disabled by the kill switch or revoked.' },
  GATEWAY_KEY_VENDOR_DELETED: { status: 403, meaning: 'The gateway key’s vendor has been deleted.' },

  // 404
  ROUTE_NOT_FOUND: { status: 404, meaning: 'No route matches the method and path.' },
  ORG_NOT_FOUND: { status: 404, meaning: 'No such org, or it is not yours.' },
  WORKSPACE_NOT_FOUND: { status: 404, meaning: 'No such workspace in this org.' },
  ENVIRONMENT_NOT_FOUND: { status: 404, meaning: 'No such environment in this workspace.' },
  MEMBER_NOT_FOUND: { status: 404, meaning: 'The user is not a member of this workspace.' },
  USER_NOT_FOUND: { status: 404, meaning: 'No such user in this org.' },
  ROLE_NOT_FOUND: { status: 404, meaning: 'No such role in this org.' },
  USER_ROLE_NOT_FOUND: { status: 404, meaning: 'No such role assignment in this org.' },
  API_KEY_NOT_FOUND: { status: 404, meaning: 'No such API key in this org.' },
  API_KEY_DEVICE_NOT_FOUND: { status: 404, meaning: 'No such device is bound to this API key.' },
  AGENT_NOT_FOUND: { status: 404, meaning: 'No such agent in this org.' },
  INSTALLATION_NOT_FOUND: { status: 404, meaning: 'No such installation in this org.' },
  VENDOR_NOT_FOUND: { status: 404, meaning: 'No such vendor in this org.' },
  SUPPORT_TICKET_NOT_FOUND: { status: 404, meaning: 'No such support ticket in this org.' },
  GATEWAY_KEY_NOT_FOUND: { status: 404, meaning: 'No such gateway key in this org.' },

  // 405, 408
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'The path exists but not with this method; Allow lists the methods.' },
  REQUEST_TIMEOUT: { status: 408, meaning: 'The request headers did not arrive in time.' },

  // 409
  ALREADY_EXISTS: { status: 409, meaning: 'An agent with this sekuire_id is already registered in this org.' },
  EMAIL_TAKEN: { status: 409, meaning: 'A user with this email already exists.' },
  EMAIL_ALREADY_VERIFIED: { status: 409, meaning: 'The email is already verified.' },
  NOT_A_USER_LOGIN: { status: 409, meaning: 'Only a logged-in user verifies an email.' },
  NOT_A_SESSION: { status: 409, meaning: 'The credential has no session to log out of (revoke an API key instead).' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, meaning: 'The idempotency key was used with a different request body.' },
  WORKSPACE_NAME_TAKEN: { status: 409, meaning: 'A workspace with this name already exists in this org.' },
  WORKSPACE_NOT_EMPTY: { status: 409, meaning: 'The workspace still holds objects; remove them or delete with force.' },
  ENVIRONMENT_NAME_TAKEN: { status: 409, meaning: 'The workspace already has an environment with this name.' },
  ROLE_NAME_TAKEN: { status: 409, meaning: 'A role with this name exists already, custom or built in.' },
  ROLE_BUILT_IN: { status: 409, meaning: 'A built-in role cannot be changed or deleted.' },
  ROLE_ALREADY_ASSIGNED: { status: 409, meaning: 'The user already holds this role.' },
  LAST_OWNER: { status: 409, meaning: 'The change would leave the org without an owner.' },
  API_KEY_REVOKED: { status: 409, meaning: 'A revoked API key cannot be rolled.' },
  API_KEY_EXPIRED: { status: 409, meaning: 'An expired API key cannot be rolled.' },
  API_KEY_DEVICE_LIMIT_REACHED: { status: 409, meaning: 'The API key already has the most devices it can be bound to (10).' },
  AGENT_REVOKED: { status: 409, meaning: 'The agent is revoked; revocation is permanent.' },
  AGENT_STOPPED: { status: 409, meaning: 'The agent is revoked or disabled.' },
  AGENT_HAS_NO_KEY: { status: 409, meaning: 'The agent has no registered key to prove.' },
  AGENT_IN_OTHER_WORKSPACE: { status: 409, meaning: 'The agent belongs to another workspace.' },
  KEY_NOT_PROVEN: { status: 409, meaning: 'Warden vouches only for keys whose possession this org has proven.' },
  KEY_PROVEN_ELSEWHERE: { status: 409, meaning: 'Another org has already proven possession of this key.' },
  VENDOR_NAME_TAKEN: { status: 409, meaning: 'The org already has a vendor with this name.' },
  SUPPORT_DELIVERY_NOT_RETRYABLE: { status: 409, meaning: 'The support ticket was delivered, or its delivery is under way.' },

  // 413, 415
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The request body is over the size limit.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The body is not of a media type the operation takes (JSON where JSON is required).' },
  UNSUPPORTED_CHARSET: { status: 415, meaning: 'The body’s charset is not UTF-8.' },
  UNSUPPORTED_ENCODING: { status: 415, meaning: 'The body’s Content-Encoding is not one Warden decodes.' },

  // 422
  VALIDATION_FAILED: { status: 422, meaning: 'The JSON body does not match the operation’s schema; details names each field.' },
  BODY_REQUIRED: { status: 422, meaning: 'The operation needs a JSON body and none was sent.' },
  EXPIRY_AMBIGUOUS: { status: 422, meaning: 'Give expires_in_days or expires_at, not both.' },
  EXPIRY_OUT_OF_RANGE: { status: 422, meaning: 'The expiry is in the past or further ahead than allowed.' },
  UNKNOWN_PERMISSION: { status: 422, meaning: 'A permission named is not one Warden knows.' },
  REDIRECT_NOT_ALLOWED: { status: 422, meaning: 'redirect_url is not on this Warden’s list of allowed origins.' },
  INVALID_PUBLIC_KEY: { status: 422, meaning: 'The public key is not the base64 of a 32-byte Ed25519 key.' },
  WEAK_PUBLIC_KEY: { status: 422, meaning: 'The public key is of small order (it would verify forged signatures).' },
  ENVIRONMENT_MISMATCH: {
    status: 422,
    meaning: "The secret's environment (or env) label names another environment than the request's.",
  },
  INVALID_SIGNATURE_ENCODING: { status: 422, meaning: 'The signature is not the base64 of 64 bytes.' },
  INVALID_PROOF: { status: 422, meaning: 'The proof-of-possession signature does not verify.' },
  PROOF_EXPIRED: { status: 422, meaning: 'The proof’s timestamp is more than 5 minutes from the server clock.' },
  SEKUIRE_ID_MISMATCH: { status: 422, meaning: 'sekuire_id is not the SHA-256 of the public key.' },
  SIEM_INTAKE_REQUIRED: { status: 422, meaning: 'No SIEM intake: give intake_url or configure one on the server.' },
  SIEM_CREDENTIAL_REQUIRED: { status: 422, meaning: 'No SIEM credential: give it in the body or configure one on the server.' },
  DESTINATION_NOT_ALLOWED: { status: 422, meaning: 'The outbound URL is not one Warden may call (scheme, credentials or address).' },
  INVALID_TIME_RANGE: { status: 422, meaning: 'from must be before to, and the range at most 366 days long.' },
  VENDOR_URL_REFUSED: { status: 422, meaning: 'base_url is not https, carries a query or credentials, or reaches a non-public address.' },
  VENDOR_AUTH_INVALID: { status: 422, meaning: 'auth_type, header_name and api_key do not fit together.' },

  // 429
  RATE_LIMITED: { status: 429, meaning: 'Too many requests; retry after Retry-After seconds.' },
  // 431
  HEADERS_TOO_LARGE: { status: 431, meaning: 'The request headers are larger than the server accepts.' },

  // 5xx
  INTERNAL_ERROR: { status: 500, meaning: 'An unexpected failure; quote the request_id when reporting it.' },
  SIEM_DELIVERY_FAILED: { status: 502, meaning: 'The SIEM intake refused the export or could not be reached.' },
  DESTINATION_UNRESOLVABLE: { status: 502, meaning: 'The outbound host does not resolve.' },
  DATABASE_UNAVAILABLE: {
    status: 503,
    meaning: 'Warden’s database did not answer in time (unreachable, or every connection busy); retry after Retry-After seconds.',
  },

  // approvals
  APPROVAL_NOT_FOUND: { status: 404, meaning: 'No such approval in your organization.' },
  APPROVAL_ALREADY_DECIDED: { status: 409, meaning: 'The approval was already approved or denied.' },
  APPROVAL_EXPIRED: { status: 409, meaning: 'The approval expired before it was decided.' },
  APPROVAL_WAITS_EXHAUSTED: { status: 429, meaning: 'Too many approvals are being waited for; retry after Retry-After seconds.' },
  // policies
  POLICY_NOT_FOUND: { status: 404, meaning: 'No such policy in this org (or it was deleted).' },
  POLICY_VERSION_NOT_FOUND: { status: 404, meaning: 'The policy has no such version.' },
  POLICY_NAME_TAKEN: { status: 409, meaning: 'A policy with this name already exists in this org.' },
  POLICY_IN_USE: { status: 409, meaning: 'Agents or workspaces still name the policy; remove it from them or delete with force.' },
  UNKNOWN_POLICY: { status: 422, meaning: 'A policy id named is not a live policy of this org.' },
  ENCRYPTION_KEY_MISSING: { status: 503, meaning: 'No WARDEN_ENCRYPTION_KEY: vendor credentials cannot be stored or read.' },
  GATEWAY_LOOP: { status: 400, meaning: 'The call came through a Warden gateway already: a vendor may not point back at one.' },
  ACTION_MISMATCH: { status: 400, meaning: 'X-Warden-Action, written as METHOD /path, names another call than the one made.' },
  GATEWAY_PATH_REFUSED: {
    status: 400,
    meaning: 'The gateway path holds a dot segment (. or .., percent-encoded or not), which could leave the vendor’s base path.',
  },
  POLICY_DENIED: { status: 403, meaning: 'A policy of the agent refuses the gateway call; deny_reason and policy_id say which and why.' },
  BUDGET_EXCEEDED: {
    status: 403,
    meaning: 'The call would take the agent past its daily budget; budget_resets_at says when it resets (00:00 UTC).',
  },
  UPSTREAM_UNREACHABLE: {
    status: 502,
    meaning: 'The vendor could not be reached, or broke the connection or the protocol before answering.',
  },
  UPSTREAM_REFUSED: { status: 502, meaning: 'The vendor’s address is one Warden may not call (SSRF rules) or does not resolve.' },
  UPSTREAM_TIMEOUT: { status: 504, meaning: 'The vendor did not answer in time.' },
  // jobs
  JOB_NOT_FOUND: { status: 404, meaning: 'No such job in this org.' },
  JOB_NOT_HELD: { status: 409, meaning: 'The agent does not hold the job: another agent does, its lease expired, or it is finished.' },
  JOB_PAYLOAD_TOO_LARGE: { status: 422, meaning: 'The job payload is over 16 KiB as JSON or nested deeper than 8 levels.' },
  JOB_WAITS_EXHAUSTED: { status: 429, meaning: 'Too many job claims are being waited for; retry after Retry-After seconds.' },
  // projects and workflows (seed 002)
  PROJECT_NOT_FOUND: { status: 404, meaning: 'No such project (workspace) in this org.' },
  PROJECT_NAME_TAKEN: { status: 409, meaning: 'A project (workspace) with this name already exists in this org.' },
  PROJECT_ARCHIVED: {
    status: 409,
    meaning: 'The project is archived: it takes no new environments or access requests until it is active again.',
  },
  WORKFLOW_NOT_FOUND: { status: 404, meaning: 'No such workflow in this org (or it was deleted).' },
  WORKFLOW_VERSION_NOT_FOUND: { status: 404, meaning: 'The workflow has no such version.' },
  WORKFLOW_NAME_TAKEN: { status: 409, meaning: 'A workflow with this name already exists in this org.' },
  WORKFLOW_INVALID: {
    status: 422,
    meaning: 'The workflow contradicts itself (auto_approve with required approvals, or no approvals without auto_approve).',
  },
  UNKNOWN_ROLE: { status: 422, meaning: 'A role name given is neither a built-in role nor a custom role of this org.' },
  // secrets
  SECRET_NOT_FOUND: { status: 404, meaning: 'No such discovered secret in this org.' },
  // oidc
  OIDC_NOT_CONFIGURED: { status: 404, meaning: 'Single sign-on is not configured on this Warden (OIDC_ISSUER and friends).' },
  OIDC_STATE_INVALID: {
    status: 400,
    meaning: 'The callback names no sign-in attempt Warden started (state missing or unknown); start again.',
  },
  OIDC_STATE_USED: { status: 400, meaning: 'The sign-in attempt has already been used; start again.' },
  OIDC_STATE_EXPIRED: { status: 400, meaning: 'The sign-in attempt is older than 10 minutes; start again.' },
  OIDC_PROVIDER_ERROR: { status: 401, meaning: 'The identity provider did not sign the user in (it answered with an error).' },
  OIDC_RESPONSE_INVALID: {
    status: 401,
    meaning: 'The identity provider refused the code, or its tokens failed validation (signature, issuer, audience, nonce, expiry).',
  },
  OIDC_EMAIL_UNVERIFIED: { status: 403, meaning: 'The identity provider vouches for no verified email of the user.' },
  OIDC_EMAIL_DOMAIN_NOT_ALLOWED: { status: 403, meaning: 'The email’s domain is not in OIDC_ALLOWED_EMAIL_DOMAINS.' },
  OIDC_NO_ORG: { status: 403, meaning: 'The user is new and their claims map to no org (OIDC_ORG_MAP, OIDC_DEFAULT_ORG).' },
  OIDC_PROVIDER_UNAVAILABLE: { status: 502, meaning: 'The identity provider could not be reached, or its answer could not be read.' },
  FLEET_OPS_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include fleet operations (container image scans).' },
  IMAGE_REF_INVALID: { status: 400, meaning: 'The image reference is not `[registry/]repository[:tag][@sha256:digest]`.' },
  IMAGE_SCAN_NOT_FOUND: { status: 404, meaning: 'No image scan with this id exists in your org.' },
  IMAGE_SCAN_REPORT_NOT_FOUND: { status: 404, meaning: 'No scan of this image reference has succeeded in your org (yet).' },
  REGISTRY_CREDENTIAL_INVALID: { status: 422, meaning: 'A registry credential needs a username and password, or a token, not both.' },
  REGISTRY_CREDENTIAL_EXISTS: { status: 409, meaning: 'The org already has a credential for this registry host; delete it first.' },
  REGISTRY_CREDENTIAL_NOT_FOUND: { status: 404, meaning: 'No registry credential with this id exists in your org.' },
  REGISTRY_NETWORK_REQUIRES_UPGRADE: { status: 402, meaning: 'The org’s plan does not include the registry network.' },
  UNKNOWN_CURRENCY: { status: 422, meaning: 'The currency is not an ISO 4217 code Warden knows.' },
  TRANSFER_RECIPIENT_INVALID: {
    status: 422,
    meaning:
      'A transfer needs exactly one recipient (to_agent_id or to_address; an address only off the ledger rail), never the payer itself.',
  },
  INSUFFICIENT_FUNDS: { status: 409, meaning: 'The paying account’s balance is lower than the amount; nothing was written.' },
  TRANSFER_DENIED: {
    status: 403,
    meaning: 'Governance refused the transfer (the agent’s policies or daily budget); the message names the reason.',
  },
  TRANSFER_NOT_APPROVED: { status: 409, meaning: 'The approval given is pending, denied, expired, used or for another transfer.' },
  TRANSFER_NOT_FOUND: { status: 404, meaning: 'No transfer of this agent is waiting for this approval.' },
  AMOUNT_USD_MISMATCH: { status: 422, meaning: 'The declared amount_usd is not the USD amount (minor units / 100); Warden derives it.' },
  CURRENCY_NOT_GOVERNABLE: {
    status: 422,
    meaning: 'Transfers are governed in USD; Warden has no exchange rate to count another currency against an agent’s limits.',
  },
  AGENT_NOT_LISTED: { status: 404, meaning: 'No active agent with this id is listed on the registry network.' },
  AGENT_ALREADY_HIRED: { status: 409, meaning: 'The org has already hired this agent.' },
  LISTING_NOT_FOUND: { status: 404, meaning: 'The agent is not listed on the registry network.' },
  ARGOCD_ENDPOINT_NOT_FOUND: { status: 404, meaning: 'No such Argo CD endpoint in this org.' },
  ARGOCD_ENDPOINT_NAME_TAKEN: { status: 409, meaning: 'The org already has an Argo CD endpoint with this name.' },
  ARGOCD_ENDPOINT_DISABLED: { status: 409, meaning: 'The Argo CD endpoint is disabled; enable it before Warden calls it.' },
  ARGOCD_URL_REFUSED: { status: 422, meaning: 'base_url is not https, carries a query or credentials, or reaches a non-public address.' },
  ARGOCD_UNREACHABLE: {
    status: 502,
    meaning: 'Argo CD could not be reached, no answer came in time, its answer broke off or was too large, or its address is refused.',
  },
  ARGOCD_REQUEST_FAILED: {
    status: 502,
    meaning: 'Argo CD answered with an error status (401/403: the token is not accepted) or an unreadable body.',
  },
  GITOPS_APP_MAPPING_NOT_FOUND: { status: 404, meaning: 'No such GitOps application mapping in this org.' },
  GITOPS_APP_MAPPING_EXISTS: { status: 409, meaning: 'The same application is already mapped to the same secrets.' },
  ACTOR_MISMATCH: { status: 403, meaning: 'A user id in the body or query (approver_id, actor_id, user_id) is not the caller’s own.' },
  // access requests and wraps
  USER_REQUIRED: { status: 403, meaning: 'The operation needs a person behind the credential: a login, or an API key a user made.' },
  HUMAN_DECISION_REQUIRED: { status: 403, meaning: 'Access requests are decided by a person’s login session, not by an API key.' },
  SELF_APPROVAL_FORBIDDEN: { status: 403, meaning: 'A requester never approves or rejects their own access request.' },
  CREATOR_DECISION_FORBIDDEN: {
    status: 403,
    meaning: 'Nobody approves or rejects an access request of a user they created (created_by): another approver must.',
  },
  APPROVER_ROLE_REQUIRED: { status: 403, meaning: 'The request’s workflow lets only holders of its approver_roles decide it.' },
  NOT_THE_REQUESTER: { status: 403, meaning: 'Only the requester may do this with the access request (cancel it, retrieve its value).' },
  REQUEST_NOT_FOUND: { status: 404, meaning: 'No such access request in this org, or not one the caller may see.' },
  WRAP_NOT_FOUND: { status: 404, meaning: 'No such wrap of this access request (or not one the caller may retrieve).' },
  REQUEST_NOT_PENDING: {
    status: 409,
    meaning: 'The access request is no longer pending: it was already decided, cancelled or carried out.',
  },
  REQUEST_EXPIRED: { status: 409, meaning: 'The access request expired (expires_at passed) before it was decided or carried out.' },
  ALREADY_DECIDED_BY_YOU: { status: 409, meaning: 'The caller has already approved or rejected this access request.' },
  REQUEST_JOB_NOT_HELD: { status: 409, meaning: 'The agent does not hold the running job of this access request.' },
  WRAP_EXISTS: { status: 409, meaning: 'The access request already has its wrap; each request holds one value.' },
  WIRE_KEY_MISSING: { status: 409, meaning: 'The agent has no X25519 wire key: set it with PUT /agents/{id}/public-key first.' },
  WRAP_GONE: { status: 410, meaning: 'The wrap’s value was already retrieved, or expired: it is retrievable only once.' },
  WRAP_UNREADABLE: {
    status: 422,
    meaning: 'The wrapped_dek is not one Warden issued to this agent (or it expired), or the ciphertext does not open.',
  },
  STRIPE_NOT_CONFIGURED: {
    status: 503,
    meaning: 'Stripe is not configured on this server (STRIPE_SECRET_KEY, or STRIPE_WEBHOOK_SECRET for webhooks).',
  },
  STRIPE_ERROR: {
    status: 502,
    meaning: 'Stripe refused the request or could not be reached, or the outbound rules refuse STRIPE_API_BASE.',
  },
  STRIPE_CUSTOMER_REQUIRED: { status: 409, meaning: 'The org has no Stripe customer yet.' },
  BILLING_TERMS_OPERATOR_ONLY: {
    status: 403,
    meaning: "The org's fee mode, take rate, per-action fee and retainer are set by the operator (a platform admin session).",
  },
  STRIPE_CUSTOMER_UNAVAILABLE: { status: 409, meaning: 'The Stripe customer id given cannot be attached to this org.' },
  STRIPE_DISABLED: { status: 409, meaning: "Stripe invoicing is off in the org's billing settings (stripe_enabled)." },
  WEBHOOK_SIGNATURE_INVALID: {
    status: 400,
    meaning: "The webhook's signature header is missing, malformed, stale or does not match its body.",
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
