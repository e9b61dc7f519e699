/** Child processes of the benchmarks that need a server and a load in separate processes. */
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Keeps a child's stdout as text, passes its stderr through, and tells when it exits. */
export function collect(child: ChildProcess): { out: () => string; exited: Promise<number | null> } {
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { out: () => out, exited };
}

/**
 * Starts `bench/<script>` with `mode` as its argument under tsx, and waits up
 * to 30 s for it to print `READY <port>`. With `profile` and
 * `TRACELOOM_BENCH_PROFILE=<dir>` set, the child runs under `--cpu-prof`.
 * `node` is the Node.js binary to run it with (this process's by default).
 */
export async function startBenchServer(script: string, mode: string, profile: boolean, node = process.execPath) {
  const profileDir = process.env.TRACELOOM_BENCH_PROFILE;
  const args = ['--import', 'tsx'];
  if (profile && profileDir !== undefined && profileDir !== '') {
    args.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const child = spawn(node, [...args, join(benchDir, script), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const io = collect(child);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /READY (\d+)/.exec(io.out());
    if (m !== null) return { child, io, port: Number(m[1]) };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${mode} server did not start: ${io.out()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
