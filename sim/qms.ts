import { Checker } from './common/checks';
import { Fail } from './common/fail';
import { Counter, prefixed } from './common/ids';
import { type Qty, restError, type RestSimulatorOptions, startRestSimulator } from './common/rest';
import type { RunningSimulator } from './common/server';

/** A generic QMS: lots with a quality status, changed by disposition decisions. */

type LotStatus = 'RELEASED' | 'ON_HOLD' | 'REJECTED' | 'REWORK' | 'CLOSED';
const DECISIONS = ['HOLD', 'RELEASE', 'REJECT', 'REWORK'] as const;
const STATUS_OF: Record<(typeof DECISIONS)[number], LotStatus> = { HOLD: 'ON_HOLD', RELEASE: 'RELEASED', REJECT: 'REJECTED', REWORK: 'REWORK' };

interface Lot {
  lot: string;
  material: string;
  site: string;
  status: LotStatus;
  quantity: Qty;
}

/** Consistent with the ERP seed: the finished lot sits in quality inspection, so it is on hold here. */
function seedLots(): Map<string, Lot> {
  const lot: Lot = { lot: 'L2026-1126-01', material: 'FG-4711', site: 'P100', status: 'ON_HOLD', quantity: { amount: 100, unit: 'PCE' } };
  return new Map([[lot.lot, lot]]);
}

const check = new Checker('invalid_request');

export async function startQmsSimulator(options: RestSimulatorOptions = {}): Promise<RunningSimulator> {
  let lots = seedLots();
  const dispositions = new Counter();

  return startRestSimulator({
    system: 'qms',
    resetData: () => {
      lots = seedLots();
      dispositions.reset();
    },
    routes: [
      {
        method: 'GET',
        pattern: /^\/lots\/([^/]+)$/,
        run: ([id]) => {
          const lot = lots.get(id);
          return lot ? { status: 200, body: structuredClone(lot) } : restError(404, 'not_found', `lot ${id} not found`);
        },
      },
      {
        method: 'POST',
        pattern: /^\/lots\/([^/]+)\/dispositions$/,
        run: (body, [id]) => {
          const lot = lots.get(id);
          if (!lot) throw new Fail(404, 'not_found', `lot ${id} not found`);
          const decision = check.oneOf(body, 'decision', DECISIONS);
          check.str(body, 'code');
          check.str(body, 'decidedBy');
          check.isoDateTime(body, 'decidedAt');
          if (lot.status === 'CLOSED') throw new Fail(409, 'lot_closed', `lot ${id} is closed`);
          lot.status = STATUS_OF[decision];
          return { status: 201, body: { dispositionId: prefixed('QD', dispositions.next()), lot: id, status: lot.status }, posted: true };
        },
      },
    ],
  }, options);
}
