/**
 * Builds the UI (`packages/ui/dist`) when it is missing or older than its
 * sources, so that `npm start` on a fresh clone serves a working UI and the
 * browser tests always run against the current code. When nothing changed it
 * only compares modification times (a few milliseconds).
 *
 * The build goes to a temporary folder that then replaces `dist` by rename, so
 * a server that is serving `dist` meanwhile never sees a half-written folder,
 * and a lock folder keeps two processes (parallel test files) from building at
 * once.
 *
 * Run: `tsx packages/ui/scripts/ensure-built.ts` (what `npm start` does), or
 * import {@link ensureUiBuilt}.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The UI package folder. */
export const UI_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The built UI, served by the server at `/`. */
export const UI_DIST = join(UI_ROOT, 'dist');

/** Files and folders whose changes call for a rebuild. */
const SOURCES = ['src', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json', 'public'];

/** The newest modification time under `path` (0 when absent). */
function newestMtime(path: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Why the UI needs building, or `undefined` when `dist` is current. */
export function staleReason(): string | undefined {
  let built: number;
  try {
    built = statSync(join(UI_DIST, 'index.html')).mtimeMs;
  } catch {
    return 'packages/ui/dist is missing';
  }
  const newest = Math.max(...SOURCES.map((s) => newestMtime(join(UI_ROOT, s))));
  return newest > built ? 'the UI sources changed since the last build' : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function runVite(outDir: string, quiet: boolean): Promise<void> {
  // vite's `exports` hide its bin: find the package folder from its main entry.
  const main = fileURLToPath(import.meta.resolve('vite'));
  const at = main.lastIndexOf(`${sep}node_modules${sep}vite${sep}`);
  const vite = join(main.slice(0, at), 'node_modules', 'vite', 'bin', 'vite.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir'], {
      cwd: UI_ROOT,
      stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
      // Captured output goes into an error message: no colour codes there.
      env: quiet ? { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } : process.env,
    });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`building the UI failed (vite exited with ${code}):\n${output}`));
    });
  });
}

/** Options of {@link ensureUiBuilt}. */
export interface EnsureUiBuiltOptions {
  /** Hide Vite's output (tests); it is still shown when the build fails. @default false */
  quiet?: boolean;
  /** Build even when `dist` looks current. @default false */
  force?: boolean;
}

/**
 * Builds the UI when `dist` is missing or stale. Resolves with `true` when it
 * built, `false` when `dist` was current (or another process just built it).
 */
export async function ensureUiBuilt(options: EnsureUiBuiltOptions = {}): Promise<boolean> {
  if (options.force !== true && staleReason() === undefined) return false;
  const lock = join(UI_ROOT, '.build-lock');
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than the longest build belongs to a process that died.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      } catch {}
      if (Date.now() > deadline) throw new Error(`timed out waiting for another UI build (lock ${lock})`);
      await sleep(200);
    }
  }
  try {
    // Another process may have finished a build while this one waited.
    const reason = staleReason();
    if (options.force !== true && reason === undefined) return false;
    const tmp = join(UI_ROOT, `.dist-build-${process.pid}`);
    const old = join(UI_ROOT, `.dist-old-${process.pid}`);
    await runVite(tmp, options.quiet === true);
    let hadDist = true;
    try {
      renameSync(UI_DIST, old);
    } catch {
      hadDist = false;
    }
    renameSync(tmp, UI_DIST);
    if (hadDist) rmSync(old, { recursive: true, force: true });
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const reason = staleReason();
  if (reason !== undefined) {
    process.stdout.write(`traceloom: building the UI (${reason})\n`);
    await ensureUiBuilt();
  }
}
