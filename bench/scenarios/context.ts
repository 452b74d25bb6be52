/** What every scenario gets from run.ts. */
import type { BenchDatabase } from '../lib/database.ts';
import type { PhaseMonitor } from '../lib/monitor.ts';
import type { ServerHandle } from '../lib/procs.ts';
import type { BenchSettings } from '../lib/settings.ts';

export interface ScenarioContext {
  settings: BenchSettings;
  db: BenchDatabase;
  server: ServerHandle;
  /** "1 worker" / "2 workers". */
  config: string;
  /** A monitor over the next phase; extra process-tree roots name more CPU groups. */
  monitor(extra?: Record<string, number | number[] | undefined>): PhaseMonitor;
  log(message: string): void;
}
