import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Connect, type Plugin, type PreviewServer, type ViteDevServer } from "vite";
import { reportsApi } from "./api.mjs"; // plain JavaScript: the browser tests' server uses it too

// BROKER_URL and CLIENT_ID pick the broker and tenant (defaults: `broker
// demo` on 127.0.0.1:8080, tenant "example"; "example-cookie" is the same
// app in cookie mode). The page reads them from /config.json.
const brokerUrl = () => process.env["BROKER_URL"] ?? "http://127.0.0.1:8080";
const clientId = () => process.env["CLIENT_ID"] ?? "example";
// STORAGE: where the client keeps tokens ("memory", the default, "sessionStorage" or "localStorage").
const storage = () => process.env["STORAGE"] ?? "memory";

function exampleServer(): Plugin {
  const mount = (server: ViteDevServer | PreviewServer) => {
    server.middlewares.use((req, res, next) => {
      if (req.url !== "/config.json") return next();
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ brokerUrl: brokerUrl(), clientId: clientId(), storage: storage() }));
    });
    server.middlewares.use(reportsApi({ brokerUrl, clientIds: () => [clientId()] }) as unknown as Connect.NextHandleFunction);
  };
  return { name: "example-server", configureServer: mount, configurePreviewServer: mount };
}

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  plugins: [react(), exampleServer()],
  resolve: {
    // The package itself, from source: an app would install @socialbroker/client.
    alias: [
      { find: /^@socialbroker\/client$/, replacement: src("../src/index.ts") },
      { find: /^@socialbroker\/client\/refine$/, replacement: src("../src/refine.ts") },
      { find: /^@socialbroker\/client\/axios$/, replacement: src("../src/axios.ts") },
    ],
  },
  // PORT=5174 (with CLIENT_ID=example-b) runs the second app of `broker demo`.
  server: { host: "127.0.0.1", port: Number(process.env["PORT"] ?? 5173), strictPort: true },
  preview: { host: "127.0.0.1", port: Number(process.env["PORT"] ?? 5173), strictPort: true },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
