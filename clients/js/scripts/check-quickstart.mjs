// Installs the package as an app would, from the tarball `npm pack` makes,
// into a scratch app (build/quickstart), writes the README's quick start
// there (the code blocks after `<!-- quickstart: PATH -->`), type-checks it
// against the installed package's exports and .d.ts files, and imports
// the installed entry points in Node. React, Refine, the router and axios
// come from this package's node_modules (the scratch app sits below it).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const app = join(root, "build", "quickstart");
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

rmSync(app, { recursive: true, force: true });
mkdirSync(join(app, "src"), { recursive: true });

// 1. The tarball. npm pack would run prepare (the build) again; check:pack
// proves that it does, so build here only when dist/ is missing or older
// than a source file, and pack what is there.
const newest = (dir) => Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
if (!existsSync(join(root, "dist", "index.js")) || newest(join(root, "src")) > statSync(join(root, "dist", "index.js")).mtimeMs) {
  run("npm", ["run", "build", "--silent"], root);
}
run("npm", ["pack", "--ignore-scripts", "--pack-destination", app, "--silent"], root);
const tgz = readdirSync(app).find((f) => f.endsWith(".tgz"));
if (!tgz) throw new Error("npm pack wrote no tarball");

// 2. npm install <tarball> in an app of its own. The package has no
// dependencies (its peers are optional), so this needs no registry.
writeFileSync(join(app, "package.json"), JSON.stringify({ name: "quickstart", private: true, type: "module" }, null, 2));
run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--no-package-lock", `./${tgz}`], app);

// 3. The README's quick start, file by file.
const readme = readFileSync(join(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/<!-- quickstart: (\S+) -->\n```\w*\n([\s\S]*?)\n```/g)];
if (blocks.length === 0) throw new Error("README.md has no <!-- quickstart: PATH --> code blocks");
for (const [, path, code] of blocks) {
  mkdirSync(dirname(join(app, path)), { recursive: true });
  writeFileSync(join(app, path), code + "\n");
}
// An app's usual compiler settings (Vite's React template, strict).
writeFileSync(
  join(app, "tsconfig.json"),
  JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "Bundler",
        lib: ["ES2022", "DOM", "DOM.Iterable"],
        jsx: "react-jsx",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      include: ["src"],
    },
    null,
    2,
  ),
);
try {
  run(join(root, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.json"], app);
} catch (e) {
  console.error(`the README's quick start does not type-check against the installed package:\n${e.stdout}${e.stderr}`);
  process.exit(1);
}

// 4. The entry points load in Node from the installed copy.
const loaded = run(
  "node",
  [
    "--input-type=module",
    "-e",
    `const a = await import("@socialbroker/client"); const b = await import("@socialbroker/client/refine"); const c = await import("@socialbroker/client/axios");
     if (typeof a.BrokerClient !== "function" || typeof b.createAuthProvider !== "function" || typeof c.attachBroker !== "function") process.exit(1);
     console.log(import.meta.resolve("@socialbroker/client"));`,
  ],
  app,
).trim();
if (!loaded.includes("/build/quickstart/node_modules/@socialbroker/client/dist/")) {
  console.error(`@socialbroker/client resolved to ${loaded}, not the installed tarball`);
  process.exit(1);
}
console.log(`quick start: ${blocks.map((b) => b[1]).join(", ")} type-check against ${tgz} installed with npm install; its entry points load`);
