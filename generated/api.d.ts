/** Generated from openapi/ by `npm run generate`. Do not edit. */
export interface paths {
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
        /** @description The body of every error response. */
        Error: {
            /** @description Stable UPPER_SNAKE reason for programs to branch on. */
            code: string;
            details?: components["schemas"]["ErrorDetail"][];
            /** @description Stable snake_case kind of error; one per HTTP status (see the table in the introduction). */
            error: string;
            /** @description A sentence for people. Do not parse it. */
            message: string;
            /** @description The request's id; quote it when reporting a problem. */
            request_id: string;
        };
        /** @description One reason a request was refused, usually one failing field. */
        ErrorDetail: {
            /** @description JSON-pointer-like path of the field inside its location (`name`, `members/0/role`); empty for the whole location. */
            field: string;
            /**
             * @description Where the failing value was sent.
             * @enum {string}
             */
            location: "body" | "path" | "query" | "header";
            /** @description What is wrong with the value. */
            message: string;
            /** @description The schema keyword that failed (`required`, `type`, `maxLength`, `additionalProperties`, …). */
            rule?: string;
        };
        /** @description Liveness of the process. */
        Health: {
            /**
             * @description Always `ok` while the process serves requests.
             * @enum {string}
             */
            status: "ok";
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
    };
    responses: {
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
                "application/json": components["schemas"]["Error"];
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
                "application/json": components["schemas"]["Error"];
            };
        };
    };
    parameters: never;
    requestBodies: never;
    headers: {
        /** @description The request id, echoed from the request's `X-Request-Id` or generated by Warden. */
        RequestId: string;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
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
