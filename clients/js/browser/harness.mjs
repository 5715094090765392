// The browser tests' world: a real broker (`broker demo`, with its fake
// Google and GitHub), the example app built by Vite and served statically
// with its API, and Debian's Chromium driven by playwright-core.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { reportsApi } from "../example/api.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
export const jsRoot = resolve(here, "..");
const repoRoot = resolve(jsRoot, "../..");
export const resultsDir = join(jsRoot, "test-results");

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** The broker binary: $BROKER_BIN (the Go test builds it), else built here. */
function brokerBinary() {
  if (process.env.BROKER_BIN) return { bin: process.env.BROKER_BIN, cleanup: () => {} };
  const dir = mkdtempSync(join(tmpdir(), "broker-bin-"));
  const bin = join(dir, "broker");
  execFileSync("go", ["build", "-o", bin, "./cmd/broker"], { cwd: repoRoot, stdio: "inherit" });
  return { bin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts `broker demo` on a free port with a short access token lifetime,
 * registering the example app's origin (tenants example and
 * example-cookie) and, when given, a second app's (tenant example-b).
 * Resolves to its issuer URL.
 */
export async function startBroker({ accessTTL, exampleOrigin, exampleOriginB }) {
  const { bin, cleanup } = brokerBinary();
  const args = ["demo", "--listen", "127.0.0.1:0", "--access-ttl", accessTTL, "--example-origin", exampleOrigin];
  if (exampleOriginB) args.push("--example-b-origin", exampleOriginB);
  const proc = spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  const issuer = await new Promise((resolveIssuer, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker demo did not start in 20 s\n${out}\n${err}`)), 20_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /Open (http:\/\/[^/\s]+)\/demo\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveIssuer(m[1]);
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`broker demo exited (${code})\n${out}\n${err}`));
    });
  });
  return {
    issuer,
    logs: () => err,
    async close() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      cleanup();
    },
  };
}

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/**
 * Serves the built example (example/dist) like any static host with an
 * SPA fallback, plus /config.json (which broker and tenant, where tokens
 * are kept) and the example's API, which records the back-channel logouts
 * it receives (logouts). The tenant and the storage can be switched
 * between tests. host names the origin: "127.0.0.1" (the default) or
 * "localhost" (another site than the broker's 127.0.0.1; it listens on
 * 127.0.0.1 either way).
 */
export async function startApp({ clientId = "example", host = "127.0.0.1" } = {}) {
  const dist = join(jsRoot, "example", "dist");
  if (!existsSync(join(dist, "index.html"))) throw new Error("example/dist is missing: run `npm run build:example`");
  const config = { brokerUrl: "", clientId, storage: "memory" };
  const logouts = [];
  const api = reportsApi({
    brokerUrl: () => config.brokerUrl,
    clientIds: () => ["example", "example-cookie", "example-b"],
    onLogout: (claims) => logouts.push(claims),
  });
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/config.json") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify(config));
      return;
    }
    api(req, res, () => {
      let file = normalize(join(dist, path));
      if (!file.startsWith(dist) || !existsSync(file) || statSync(file).isDirectory()) file = join(dist, "index.html");
      res.writeHead(200, { "Content-Type": types[extname(file)] ?? "application/octet-stream" });
      res.end(readFileSync(file));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://${host}:${server.address().port}`;
  return {
    origin,
    config,
    logouts,
    close: () => new Promise((r) => server.close(r)),
  };
}

/** Debian's Chromium, headless, with a fresh profile. */
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}
