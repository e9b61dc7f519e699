import { ServicesView } from '../analytics/ServicesView.tsx';

/** The services page: every service with rate, error %, p95 and a sparkline (`/services`). */
export function ServicesPage() {
  return <ServicesView />;
}
