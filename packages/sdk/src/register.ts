/**
 * `node --import @traceloom/sdk/register app.js`: traces the application with
 * the settings of the `OTEL_*` variables (see {@link startTracing}).
 */
import { startTracing } from './start.ts';

startTracing();
