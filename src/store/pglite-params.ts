/**
 * How the embedded PostgreSQL starts. PGlite's own list, plus a smaller buffer cache: PGlite
 * sets shared_buffers to 160 MB, all of it WebAssembly memory that once touched stays resident
 * (WASM memory never shrinks). The data files live on the host's file system, whose page cache
 * keeps them warm anyway, so 32 MB costs little speed and keeps a whole server near 250 MB.
 */
export const EMBEDDED_SHARED_BUFFERS = '32MB';

export const startParams: string[] = [
  '--single',
  '-F',
  '-O',
  '-j',
  '-c',
  'search_path=public',
  '-c',
  'exit_on_error=false',
  '-c',
  'log_checkpoints=false',
  '-c',
  'max_worker_processes=0',
  '-c',
  'max_parallel_workers=0',
  '-c',
  'max_parallel_workers_per_gather=0',
  '-c',
  'io_method=sync',
  '-c',
  'max_parallel_maintenance_workers=0',
  '-c',
  `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`,
];
