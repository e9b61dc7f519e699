/**
 * What the search page shows while the store holds no spans: where to send
 * them and how, instead of an empty page.
 */

/** The host the user reaches this server on, as it goes into a URL. */
function serverHost(): string {
  const h = window.location.hostname;
  if (h === '' || h === '127.0.0.1' || h === '::1' || h === '[::1]' || h === 'localhost') return 'localhost';
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/** The "no data yet" page. */
export function EmptyState() {
  const host = serverHost();
  const endpoint = `http://${host}:4318`;
  const curl = `curl -X POST ${endpoint}/v1/traces -H 'Content-Type: application/json' -d '{
  "resourceSpans": [{
    "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": "hello" } }] },
    "scopeSpans": [{ "spans": [{
      "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
      "name": "say-hello", "kind": 2,
      "startTimeUnixNano": "'$(date +%s)000000000'", "endTimeUnixNano": "'$(date +%s)250000000'"
    }] }]
  }]
}'`;
  return (
    <section className="empty-state" data-testid="empty-state">
      <h1>No traces yet</h1>
      <p>
        Traceloom is running but has not received any spans. Point your applications at the OTLP endpoint and traces
        will show up here.
      </p>
      <h2>OTLP endpoint</h2>
      <dl className="endpoints">
        <dt>OTLP/HTTP</dt>
        <dd>
          <code data-testid="otlp-endpoint">{endpoint}</code> (<code>/v1/traces</code>, protobuf or JSON)
        </dd>
        <dt>OTLP/gRPC</dt>
        <dd>
          <code>http://{host}:4317</code>
        </dd>
        <dt>Zipkin</dt>
        <dd>
          <code>http://{host}:9411/api/v2/spans</code>
        </dd>
        <dt>Jaeger</dt>
        <dd>
          <code>http://{host}:14268/api/traces</code>
        </dd>
      </dl>
      <h2>Any OpenTelemetry SDK</h2>
      <p className="muted">Set these variables before starting your service:</p>
      <pre className="code" data-testid="otel-example">
        {`export OTEL_EXPORTER_OTLP_ENDPOINT=${endpoint}
export OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
export OTEL_SERVICE_NAME=my-service
export OTEL_TRACES_EXPORTER=otlp`}
      </pre>
      <h2>Try it with one span</h2>
      <pre className="code">{curl}</pre>
      <p className="muted small">
        These are the default ports; the server prints the ones it uses at start-up. This page refreshes when you search
        again.
      </p>
    </section>
  );
}
