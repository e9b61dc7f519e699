/** The services page (placeholder until the analytics pages land). */
export function ServicesPage() {
  return <p>services</p>;
}
