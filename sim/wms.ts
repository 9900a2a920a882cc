import { Checker, type Obj } from './common/checks';
import { Fail } from './common/fail';
import { Counter, prefixed } from './common/ids';
import { convert, type Qty, quantity, round, type RestSimulatorOptions, startRestSimulator } from './common/rest';
import type { RunningSimulator } from './common/server';

/** A generic WMS: stock by material, lot, location and status, and movements between them. */

const STOCK_STATUSES = ['AVAILABLE', 'QC', 'BLOCKED'] as const;
type StockStatus = (typeof STOCK_STATUSES)[number];

interface StockRow {
  material: string;
  lot: string | null;
  site: string;
  location: string;
  status: StockStatus;
  quantity: Qty;
}

interface Place {
  site: string;
  location: string;
  status: StockStatus;
}

/** Consistent with the ERP seed: raw material in stock, the finished lot in quality inspection. */
function seedStock(): StockRow[] {
  return [
    { material: 'RM-100-STEEL', lot: null, site: 'P100', location: 'A-01-01', status: 'AVAILABLE', quantity: { amount: 500, unit: 'KGM' } },
    { material: 'FG-4711', lot: 'L2026-1126-01', site: 'P100', location: 'QC-01', status: 'QC', quantity: { amount: 100, unit: 'PCE' } },
  ];
}

const check = new Checker('invalid_request');

function place(body: Obj, field: string): Place {
  const p = check.obj(body, field);
  return { site: check.str(p, 'site', `/${field}`), location: check.str(p, 'location', `/${field}`), status: check.oneOf(p, 'status', STOCK_STATUSES, `/${field}`) };
}

export async function startWmsSimulator(options: RestSimulatorOptions = {}): Promise<RunningSimulator> {
  let stock = seedStock();
  const movements = new Counter();

  const rowAt = (material: string, lot: string | null, p: Place) =>
    stock.find((r) => r.material === material && r.lot === lot && r.site === p.site && r.location === p.location && r.status === p.status);

  return startRestSimulator({
    system: 'wms',
    resetData: () => {
      stock = seedStock();
      movements.reset();
    },
    routes: [
      {
        method: 'GET',
        pattern: /^\/stock$/,
        run: (_params, call) => {
          const q = call.url.searchParams;
          const filters = ['material', 'site', 'lot', 'location', 'status'] as const;
          const rows = stock.filter((r) => filters.every((f) => !q.has(f) || r[f] === q.get(f)));
          return { status: 200, body: structuredClone(rows) };
        },
      },
      {
        method: 'POST',
        pattern: /^\/movements$/,
        run: (body) => {
          const material = check.str(body, 'material');
          const lot = check.optStr(body, 'lot') || null;
          const qty = quantity(check, body, 'quantity');
          if (qty.amount <= 0) throw check.fail('/quantity/amount', 'must be > 0');
          const from = place(body, 'from');
          const to = place(body, 'to');
          check.optStr(body, 'reason');
          if (from.site === to.site && from.location === to.location && from.status === to.status) throw check.fail('/to', 'equals /from');
          const source = rowAt(material, lot, from);
          const available = source ? source.quantity.amount : 0;
          const unit = source?.quantity.unit ?? qty.unit;
          const needed = convert(qty.amount, qty.unit, unit);
          if (needed === undefined) throw check.fail('/quantity/unit', `${qty.unit} does not convert to the stock's ${unit}`);
          if (!source || needed > available) {
            throw new Fail(409, 'insufficient_stock', `${material}${lot ? ` lot ${lot}` : ''} at ${from.site}/${from.location} ${from.status}: ${available} ${unit} available, ${needed} needed`);
          }
          source.quantity.amount = round(available - needed);
          // Empty quants disappear, as in most WMS.
          if (source.quantity.amount === 0) stock = stock.filter((r) => r !== source);
          const target = rowAt(material, lot, to);
          if (target) target.quantity.amount = round(target.quantity.amount + (convert(needed, unit, target.quantity.unit) as number));
          else stock.push({ material, lot, ...to, quantity: { amount: needed, unit } });
          return { status: 201, body: { movementId: prefixed('WM', movements.next()) }, posted: true };
        },
      },
    ],
  }, options);
}
