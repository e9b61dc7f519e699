/**
 * @traceloom/demo: the demo shop (`traceloom demo`) and the load generator
 * (`traceloom loadgen`) whose generator every benchmark uses.
 */

export { runDemoCommand } from './demo-cli.ts';
export type { DemoErrorCode as DemoErrorCodeValue } from './errors.ts';
export { DemoError, DemoErrorCode } from './errors.ts';
export { DEMO_SHAPES } from './loadgen/demo-shapes.ts';
export type { GenerateTracesOptions } from './loadgen/generator.ts';
export { encodeOtlpBatch, generateLargeTrace, generateTraces, SHOP_SERVICES, spanChunks } from './loadgen/generator.ts';
export { runLoadgenCommand } from './loadgen/loadgen-cli.ts';
export type { LoadgenOptions, LoadgenReport } from './loadgen/run.ts';
export { generateBatches, runLoadgen } from './loadgen/run.ts';
export type { Quantiles, ShapeSpan, TraceShapes } from './loadgen/shapes.ts';
export { measureShapes, shapeOfSpan, shapesOf } from './loadgen/shapes.ts';
export type { BackendOptions } from './shop/backends.ts';
export type { Faults, ShopServiceName } from './shop/faults.ts';
export { applyFaultPatch, DEFAULT_FAULTS, SHOP_SERVICE_NAMES } from './shop/faults.ts';
export type { DemoOptions, RunningDemo } from './shop/supervisor.ts';
export { startDemo } from './shop/supervisor.ts';
