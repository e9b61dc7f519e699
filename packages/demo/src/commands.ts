/** The `traceloom demo` and `traceloom loadgen` commands, which the server's CLI dispatches to. */
export { runDemoCommand } from './demo-cli.ts';
export { runLoadgenCommand } from './loadgen/loadgen-cli.ts';
