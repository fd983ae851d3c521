// A client generated from the served OpenAPI document (openapi-typescript types, openapi-fetch calls), with no
// hand-written types and no casts: if the document is wrong, this file does not compile or its checks fail.
// Usage: node out/smoke.js BASE_URL API_KEY   (the key needs tokens:write and tokens:reveal)
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api.js";

declare const process: { argv: string[]; exitCode?: number };

const [baseUrl, apiKey] = process.argv.slice(2);
if (!baseUrl || !apiKey) {
  throw new Error("usage: node out/smoke.js BASE_URL API_KEY");
}

const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });

function check(condition: unknown, what: string): asserts condition {
  if (!condition) {
    throw new Error(`openapi smoke: ${what}`);
  }
}

// Optional fields are optional: a create names only what it needs.
const body: components["schemas"]["CreateTokenRequest"] = { value: "4111111111111111", format: "pan", ttlSeconds: 3600, metadata: { source: "openapi-smoke" } };
const created = await client.POST("/v1/tokens", { body });
check(created.response.status === 201, `create answered ${created.response.status}`);
check(created.data, "create returns the token");
const token: string = created.data.token;
const expiresAt: string | null = created.data.expiresAt;
check(expiresAt !== null, "a token with a ttl has an expiry");
check(created.response.headers.get("Location") === `/v1/tokens/${token}`, "create sends Location");

const info = await client.GET("/v1/tokens/{token}", { params: { path: { token } } });
const keyVersion: number | undefined = info.data?.keyVersion;
const format: "random" | "numeric" | "pan" | "pan-last4" | "ssn-last4" | "fpe" | undefined = info.data?.format;
check(keyVersion === 1 && format === "pan", "metadata reads back typed");

const revealed = await client.POST("/v1/tokens/{token}/reveal", { params: { path: { token } } });
check(revealed.data?.value === "4111111111111111", "reveal returns the value");
check(revealed.response.headers.get("Cache-Control") === "no-store", "reveal sends Cache-Control: no-store");

// Errors are the shared problem schema, typed.
const missing = await client.GET("/v1/tokens/{token}", { params: { path: { token: "tok_doesNotExist0000000000" } } });
const problem: components["schemas"]["ProblemDetails"] | undefined = missing.error;
check(missing.response.status === 404 && problem?.code === "token-not-found" && problem.status === 404, `a missing token is a typed problem (${JSON.stringify(problem)})`);

const deleted = await client.DELETE("/v1/tokens/{token}", { params: { path: { token } } });
check(deleted.response.status === 204, `delete answered ${deleted.response.status}`);

console.log(`openapi smoke: ok (${token})`);
