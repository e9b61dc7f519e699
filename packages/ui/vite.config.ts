import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The server on 16686 serves `dist/`; `npm run dev -w @traceloom/ui` proxies the API to a running server.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: { proxy: { '/api': 'http://localhost:16686' } },
});
