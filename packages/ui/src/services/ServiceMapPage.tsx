/** The service map (placeholder until the analytics pages land). */
export function ServiceMapPage() {
  return <p>service map</p>;
}
