/** One service's page (placeholder until the analytics pages land). */
export function ServicePage(props: { readonly service: string }) {
  return <p>service {props.service}</p>;
}
