import { ServiceMapView } from '../analytics/ServiceMapView.tsx';

/** The service map: the dependency graph of the selected range (`/map`). */
export function ServiceMapPage() {
  return <ServiceMapView />;
}
