/** The trace page (placeholder until the trace view lands). */
export function TracePage(props: { readonly traceId: string }) {
  return <p>trace {props.traceId}</p>;
}
