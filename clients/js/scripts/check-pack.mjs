// Checks that the package npm would publish is usable: `npm pack --dry-run
// --json` must list every file package.json's `exports`, `types` and `main`
// name (types included), and every file those import by a relative path
// (index.d.ts -> ./client.js -> client.d.ts ...). Exits 1 with the missing
// files otherwise. `npm pack` runs `prepare` (the build) first, as
// `npm install <git url>` and `npm publish` do.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const out = execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
// Lifecycle scripts may print before the JSON: take the array at the end.
const [report] = JSON.parse(out.slice(out.lastIndexOf("\n[") + 1 || out.indexOf("[")));
const packed = new Set(report.files.map((f) => normalize(f.path)));

/** Every path a value of `exports` names, with the keys that lead to it. */
function targets(v, keys, acc) {
  if (typeof v === "string") acc.push({ file: v, entry: keys[0], via: `exports${keys.map((k) => `[${JSON.stringify(k)}]`).join("")}` });
  else if (Array.isArray(v)) v.forEach((x, i) => targets(x, [...keys, i], acc));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) targets(x, [...keys, k], acc);
  return acc;
}

const exp = typeof pkg.exports === "string" || Array.isArray(pkg.exports) ? { ".": pkg.exports } : (pkg.exports ?? {});
// Subpath keys start with "."; otherwise the object is the conditions of ".".
const entries = Object.keys(exp).every((k) => k.startsWith(".")) ? exp : { ".": exp };
const wanted = Object.entries(entries).flatMap(([k, v]) => targets(v, [k], []));
for (const k of ["types", "typings", "main", "module"]) if (typeof pkg[k] === "string") wanted.push({ file: pkg[k], via: k });

const missing = [];
const seen = new Set();
const typesOf = new Map(); // every export entry needs a types condition
for (const { file, entry, via } of wanted) {
  if (file.includes("*")) {
    missing.push(`${via}: patterns are not checked: name each file`);
    continue;
  }
  visit(normalize(file), via);
  if (entry === undefined) continue;
  if (/\.d\.[cm]?ts$/.test(file)) typesOf.set(entry, true);
  else if (!typesOf.has(entry)) typesOf.set(entry, false);
}
for (const [entry, typed] of typesOf) if (!typed) missing.push(`exports[${JSON.stringify(entry)}]: no declaration file (.d.ts) for TypeScript`);

// visit marks a file as needed and follows its relative imports.
function visit(file, via) {
  if (seen.has(file)) return;
  seen.add(file);
  if (!packed.has(file)) {
    missing.push(`${file} (${via})`);
    return;
  }
  if (!/\.(m|c)?js$|\.d\.(m|c)?ts$/.test(file)) return;
  const text = readFileSync(join(root, file), "utf8");
  const re = /(?:from\s+|import\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']/g;
  for (const m of text.matchAll(re)) {
    let dep = normalize(join(dirname(file), m[1]));
    // A .d.ts imports "./x.js" for the declaration x.d.ts.
    if (file.endsWith(".d.ts")) dep = dep.replace(/\.js$/, ".d.ts");
    visit(dep, `imported by ${file}`);
  }
}

if (missing.length > 0) {
  console.error(`npm pack would ship ${packed.size} files but not:\n  ${missing.join("\n  ")}`);
  process.exit(1);
}
console.log(`npm pack: ${packed.size} files; the ${seen.size} that exports, types and their imports name are all in it`);
