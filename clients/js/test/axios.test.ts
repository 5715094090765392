import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import axios, { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from "axios";
import { attachBroker } from "../src/axios.js";
import type { BrokerEvent } from "../src/client.js";
import { CLIENT, FakeBroker, FakeBrowser } from "./fakes.js";

let browsers: FakeBrowser[] = [];
afterEach(() => {
  for (const b of browsers) b.close();
  browsers = [];
});

interface Seen {
  url: string;
  token: string | undefined;
  tenant: string | undefined;
}

// An API that checks access tokens with the broker, as /auth/check would:
// 401 {"error":"token_expired"} for an expired one.
function api(broker: FakeBroker, seen: Seen[]): AxiosAdapter {
  return async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    await new Promise((r) => setTimeout(r, 1));
    const auth = config.headers.get("Authorization");
    const token = typeof auth === "string" ? auth.replace(/^Bearer /, "") : undefined;
    const tenant = config.headers.get("X-Tenant-ID");
    seen.push({ url: config.url ?? "", token, tenant: typeof tenant === "string" ? tenant : undefined });
    const v = broker.verify(token);
    const response = (status: number, data: unknown): AxiosResponse => ({ status, statusText: String(status), data, headers: {}, config });
    if (v !== "ok") {
      const res = response(401, { error: v, message: v === "token_expired" ? "TokenExpiredError" : "JsonWebTokenError" });
      throw new AxiosError("Request failed with status code 401", AxiosError.ERR_BAD_REQUEST, config, {}, res);
    }
    return response(200, { url: config.url, ok: true });
  };
}

async function setup(mode: "body" | "cookie" = "body") {
  const broker = new FakeBroker();
  broker.mode = mode;
  broker.refreshDelay = 5;
  const b = new FakeBrowser(broker);
  browsers.push(b);
  const client = b.tab();
  await b.signIn(client);
  const seen: Seen[] = [];
  const http = axios.create({ baseURL: "https://api.test", adapter: api(broker, seen) });
  const expired: number[] = [];
  const detach = attachBroker(http, client, { onSessionExpired: () => expired.push(1) });
  const ev: BrokerEvent[] = [];
  client.subscribe((e) => ev.push(e));
  return { b, broker, client, http, seen, expired, events: ev, detach };
}

const ten = (http: ReturnType<typeof axios.create>) => Promise.allSettled(Array.from({ length: 10 }, (_, i) => http.get(`/items/${i}`)));

describe("axios interceptor", () => {
  test("adds the bearer token and X-Tenant-ID", async () => {
    const { http, seen, client } = await setup();
    await http.get("/me");
    assert.equal(seen[0]!.token, await client.getAccessToken());
    assert.equal(seen[0]!.tenant, CLIENT);
  });

  for (const mode of ["body", "cookie"] as const) {
    test(`10 parallel requests on an expired token: exactly one refresh, 10 successful retries (${mode} mode)`, async () => {
      const { broker, client, http, seen, expired } = await setup(mode);
      const old = await client.getAccessToken();
      broker.expireAccessTokens(); // expired at the server; the tab does not know yet

      const results = await ten(http);

      assert.equal(broker.refreshes.length, 1, "one refresh");
      assert.ok(results.every((r) => r.status === "fulfilled" && r.value.status === 200), "all 10 succeed");
      const fresh = await client.getAccessToken();
      assert.notEqual(fresh, old);
      for (let i = 0; i < 10; i++) {
        const tries = seen.filter((s) => s.url === `/items/${i}`);
        assert.deepEqual(
          tries.map((s) => s.token),
          [old, fresh],
          `request ${i}: sent once with the old token, retried exactly once with the new one`,
        );
      }
      assert.deepEqual(expired, []);
    });
  }

  test("10 parallel requests on a token the tab knows is expired: one refresh before sending, no 401", async () => {
    const { b, broker, client, http, seen } = await setup();
    const old = await client.getAccessToken();
    b.clock.now += 3_600_000;
    broker.expireAccessTokens();
    const results = await ten(http);
    assert.equal(broker.refreshes.length, 1);
    assert.ok(results.every((r) => r.status === "fulfilled"));
    assert.equal(seen.length, 10, "no request was sent twice");
    assert.ok(seen.every((s) => s.token !== old));
  });

  test("a failed refresh logs out once", async () => {
    const { broker, client, http, expired, events } = await setup();
    broker.expireAccessTokens();
    broker.refreshFailure = 401;

    const results = await ten(http);

    assert.equal(broker.refreshes.length, 1, "one refresh attempt");
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.equal(((r as PromiseRejectedResult).reason as AxiosError).response?.status, 401);
    }
    assert.deepEqual(events, [{ type: "signedOut", reason: "expired" }], "signed out once");
    assert.equal(expired.length, 1, "onSessionExpired (redirect to login) once");
    assert.equal(await client.getAccessToken(), null);
    assert.ok(broker.logouts.length <= 1);

    // Later requests go out without a token and fail; nothing more happens.
    await assert.rejects(http.get("/after"));
    assert.equal(expired.length, 1);
    assert.equal(broker.refreshes.length, 1);
  });

  test("the default onSessionExpired goes to the login page", async () => {
    const broker = new FakeBroker();
    const b = new FakeBrowser(broker);
    browsers.push(b);
    const client = b.tab();
    await b.signIn(client);
    const http = axios.create({ adapter: api(broker, []) });
    const went: string[] = [];
    const g = globalThis as { window?: unknown };
    g.window = { location: { assign: (u: string) => went.push(u) } };
    try {
      attachBroker(http, client, { loginPath: "/signin" });
      broker.expireAccessTokens();
      broker.refreshFailure = 401;
      await Promise.allSettled([http.get("/a"), http.get("/b")]);
      assert.deepEqual(went, ["/signin"]);
    } finally {
      delete g.window;
    }
  });

  test("a retried request is not retried again", async () => {
    const { broker, http, seen } = await setup();
    broker.expireAccessTokens();
    // Every token the broker mints is born expired at this API.
    const verify = broker.verify.bind(broker);
    broker.verify = (t) => (verify(t) === "ok" ? "token_expired" : verify(t));
    await assert.rejects(http.get("/x"), (e: AxiosError) => e.response?.status === 401);
    assert.equal(seen.length, 2);
    assert.equal(broker.refreshes.length, 1);
  });

  test("401 invalid_token is not refreshed", async () => {
    const { broker, http, seen } = await setup();
    broker.revokeAll();
    await assert.rejects(http.get("/x"), (e: AxiosError) => e.response?.status === 401);
    assert.equal(broker.refreshes.length, 0);
    assert.equal(seen.length, 1);
  });

  test("an unreachable broker fails the requests but keeps the session", async () => {
    const { broker, client, http, expired, events } = await setup();
    broker.expireAccessTokens();
    broker.refreshFailure = "network";
    const results = await ten(http);
    assert.ok(results.every((r) => r.status === "rejected"));
    assert.equal(broker.refreshes.length, 1);
    assert.deepEqual(expired, []);
    assert.deepEqual(events, []);
    assert.ok(await client.isAuthenticated());
  });

  test("detach removes the interceptors", async () => {
    const { http, seen, detach } = await setup();
    detach();
    await assert.rejects(http.get("/x"));
    assert.equal(seen[0]!.token, undefined);
  });
});
