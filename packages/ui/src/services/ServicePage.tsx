import { ServiceView } from '../analytics/ServiceView.tsx';

/** One service: rate, errors and latency percentiles over time, and its operations (`/services/<name>`). */
export function ServicePage(props: { readonly service: string }) {
  return <ServiceView service={props.service} />;
}
