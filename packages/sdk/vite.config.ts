/**
 * Builds `dist/register.js`, what `node --import @traceloom/sdk/register app.js` loads: the SDK
 * and the packages it uses (`@traceloom/model`, `@traceloom/wire`) compiled to one plain
 * JavaScript module, so an application needs neither TypeScript nor tsx. `@opentelemetry/api`
 * stays an import: the application's copy must be the one the SDK registers with.
 * Run by `npm run build:sdk` (and before `npm test`).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  logLevel: 'warn',
  build: {
    ssr: 'src/register.ts',
    outDir: 'dist',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: true,
    rollupOptions: { output: { entryFileNames: 'register.js', format: 'es' } },
  },
  ssr: { noExternal: [/^@traceloom\//], external: ['@opentelemetry/api'], target: 'node' },
});
