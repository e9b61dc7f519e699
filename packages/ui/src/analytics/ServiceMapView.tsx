/**
 * The service map: who calls whom over the range, from the service graph the
 * server builds before sampling. Edge thickness follows the request rate,
 * colour the error share; a service node opens its page.
 */
import { type ReactNode, useMemo } from 'react';
import { navigate, useLocation } from '../app/router.tsx';
import { ErrorBox } from '../components/ErrorBox.tsx';
import { fetchServiceGraph, type GraphNodeType, lookbackFrom, type ServiceGraphData } from './api.ts';
import { formatMs } from './format.ts';
import { RangePicker } from './RangePicker.tsx';
import { type GraphEdge, type GraphNode, type GraphNodeKind, ServiceGraph } from './ServiceGraph.tsx';
import { useData } from './use-data.ts';
import './analytics.css';

function kindOf(type: GraphNodeType, name: string, data: ServiceGraphData): GraphNodeKind {
  if (type === 'service' || type === 'user' || type === 'database') return type;
  // A virtual node reached through a messaging edge is a broker; anything else an external service.
  return data.edges.some((e) => e.server === name && e.connectionType === 'messaging_system')
    ? 'messaging'
    : 'external';
}

export function ServiceMapView() {
  const loc = useLocation();
  const lookback = lookbackFrom(loc.search);
  const state = useData((signal) => fetchServiceGraph({ lookback }, signal), `graph ${lookback}`);
  const graph = useMemo(() => {
    if (state.status !== 'ok') return undefined;
    const d = state.data;
    const nodes: GraphNode[] = d.nodes.map((n) => ({ id: n.name, kind: kindOf(n.type, n.name, d) }));
    const edges: GraphEdge[] = d.edges.map((e) => {
      const p95 = e.serverP95Ms ?? e.clientP95Ms ?? null;
      return {
        source: e.client,
        target: e.server,
        requests: e.requests,
        errors: e.failed,
        rate: e.rate,
        ...(p95 === null ? {} : { latency: `p95 ${formatMs(p95)}` }),
      };
    });
    return { nodes, edges, services: new Set(d.nodes.filter((n) => n.type === 'service').map((n) => n.name)) };
  }, [state]);

  let body: ReactNode;
  if (state.status === 'loading') body = <div className="loading">Loading the service graph…</div>;
  else if (state.status === 'error') body = <ErrorBox error={state.error} title="Could not load the service graph" />;
  else if (graph === undefined || graph.edges.length === 0)
    body = (
      <div className="an-empty" data-testid="map-empty">
        <p>No calls between services in this range.</p>
        <p className="muted">
          Edges come from client and server spans (and producer and consumer spans) of different services in one trace;
          widen the range or send traces that cross services.
        </p>
      </div>
    );
  else
    body = (
      <div className="an-card an-map" data-testid="service-map">
        <ServiceGraph
          nodes={graph.nodes}
          edges={graph.edges}
          onNodeClick={(id) => {
            if (graph.services.has(id)) navigate(`/services/${encodeURIComponent(id)}?lookback=${lookback}`);
          }}
        />
        <p className="muted an-legend">
          <span className="an-swatch an-ok-bg" /> no errors <span className="an-swatch an-warn-bg" /> some errors{' '}
          <span className="an-swatch an-bad-bg" /> 5% or more · thicker edges carry more requests
        </p>
      </div>
    );
  return (
    <div className="an-page">
      <header className="an-header">
        <h1>Service map</h1>
        <p className="muted">Calls between services, databases and external systems, counted before sampling.</p>
        <RangePicker />
      </header>
      {body}
    </div>
  );
}
