/**
 * `npm run bench -- <name> [<name> ...] [--option value ...]`: runs
 * `bench/<name>.ts` (its default export), which prints one JSON line per
 * figure; options (`--spans 1000000`, `--seconds 10`) are left in
 * `process.argv` for the benchmark to read. `npm run bench` alone lists the
 * benchmarks.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3));
// `<bench>-<part>.ts` is a helper of benchmark `<bench>` (a child-process script), not a benchmark.
const available = all.filter((n) => !all.some((o) => o !== n && n.startsWith(`${o}-`))).sort();

const args = process.argv.slice(2).filter((a) => a !== '--');
// A word after `--option` is that option's value, not a benchmark name.
const names = args.filter((a, i) => !a.startsWith('-') && !(args[i - 1]?.startsWith('--') ?? false));
if (names.length === 0) {
  console.error(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}`);
  process.exit(2);
}
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
}
for (const name of names) {
  const mod = (await import(pathToFileURL(join(here, `${name}.ts`)).href)) as { default: () => Promise<void> };
  await mod.default();
}
