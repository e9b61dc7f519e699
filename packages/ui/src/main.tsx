import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ComparePage } from './compare/ComparePage.tsx';
import { TracePage } from './trace/TracePage.tsx';

// Placeholder shell: the app shell (router, search page, settings) replaces this.
function App() {
  const path = window.location.pathname;
  const trace = /^\/trace\/([0-9a-fA-F]+)/.exec(path);
  if (trace?.[1] !== undefined) return <TracePage traceId={trace[1]} />;
  const cmp = /^\/compare\/([0-9a-fA-F]+)\/([0-9a-fA-F]+)/.exec(path);
  if (cmp?.[1] !== undefined && cmp[2] !== undefined) return <ComparePage left={cmp[1]} right={cmp[2]} />;
  return <p>Traceloom</p>;
}

const root = document.getElementById('root');
if (root !== null) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
