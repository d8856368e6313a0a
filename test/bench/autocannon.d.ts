// Minimal types for the parts of autocannon the benchmark uses (the package ships none).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface Result {
    requests: { total: number };
    duration: number;
    errors: number;
    timeouts: number;
  }
  interface Instance extends EventEmitter, PromiseLike<Result> {}
  function autocannon(opts: Record<string, unknown>): Instance;
  export default autocannon;
}
