import { Checker, type Obj, isObj } from './common/checks';
import { Fail } from './common/fail';
import { Counter, prefixed } from './common/ids';
import { convert, type Qty, quantity, restError, type RestSimulatorOptions, startRestSimulator } from './common/rest';
import type { RunningSimulator } from './common/server';

/** A generic MES: production orders dispatched from ERP, operation confirmations and consumptions. */

const ORDER_STATUSES = ['NEW', 'RELEASED', 'IN_PROGRESS', 'COMPLETED', 'CANCELLED', 'ON_HOLD'] as const;
type OrderStatus = (typeof ORDER_STATUSES)[number];
const EXECUTABLE: OrderStatus[] = ['RELEASED', 'IN_PROGRESS'];

interface MesMaterial {
  material: string;
  lot?: string;
  quantity: Qty;
  use: 'CONSUME' | 'PRODUCE';
}

interface MesOperation {
  sequence: string;
  description: string;
  workCenter: string;
  status: OrderStatus;
  quantity: Qty;
  materials: MesMaterial[];
}

interface MesOrder {
  orderId: string;
  status: OrderStatus;
  material: string;
  quantity: Qty;
  plannedStart: string;
  plannedEnd: string;
  site: string;
  workCenter: string;
  revision: number;
  operations: MesOperation[];
}

/** Consistent with the ERP seed: order 1000124 is released there and dispatched here. */
function seedOrders(): Map<string, MesOrder> {
  const order: MesOrder = {
    orderId: '1000124',
    status: 'RELEASED',
    material: 'FG-4712',
    quantity: { amount: 50, unit: 'PCE' },
    plannedStart: '2026-11-26T14:00:00Z',
    plannedEnd: '2026-11-26T18:00:00Z',
    site: 'P100',
    workCenter: 'WC-PACK1',
    revision: 0,
    operations: [{
      sequence: '0010',
      description: 'Pack',
      workCenter: 'WC-PACK1',
      status: 'RELEASED',
      quantity: { amount: 50, unit: 'PCE' },
      materials: [{ material: 'FG-4712', quantity: { amount: 50, unit: 'PCE' }, use: 'PRODUCE' }],
    }],
  };
  return new Map([[order.orderId, order]]);
}

const check = new Checker('invalid_request');

function parseOperation(raw: unknown, at: string, previous?: MesOperation): MesOperation {
  if (!isObj(raw)) throw check.fail(at, 'must be an object');
  const materials = raw.materials === undefined ? [] : check.arr(raw, 'materials', at).map((m, i): MesMaterial => {
    const mat = `${at}/materials/${i}`;
    if (!isObj(m)) throw check.fail(mat, 'must be an object');
    const lot = check.optStr(m, 'lot', mat);
    return { material: check.str(m, 'material', mat), ...(lot ? { lot } : {}), quantity: quantity(check, m, 'quantity', mat), use: check.oneOf(m, 'use', ['CONSUME', 'PRODUCE'] as const, mat) };
  });
  return {
    sequence: check.str(raw, 'sequence', at),
    description: check.optStr(raw, 'description', at) ?? '',
    workCenter: check.str(raw, 'workCenter', at),
    status: previous?.status ?? 'RELEASED',
    quantity: quantity(check, raw, 'quantity', at),
    materials,
  };
}

/** The order body of a dispatch or a revision; status is the MES's own business. */
function parseOrder(body: Obj, existing?: MesOrder): Omit<MesOrder, 'status'> {
  const raw = check.arr(body, 'operations');
  const operations = raw.map((op, i) => {
    const seq = isObj(op) && typeof op.sequence === 'string' ? op.sequence : undefined;
    return parseOperation(op, `/operations/${i}`, existing?.operations.find((o) => o.sequence === seq));
  });
  const seqs = new Set(operations.map((o) => o.sequence));
  if (seqs.size !== operations.length) throw check.fail('/operations', 'has duplicate sequences');
  return {
    orderId: check.str(body, 'orderId'),
    material: check.str(body, 'material'),
    quantity: quantity(check, body, 'quantity'),
    plannedStart: check.isoDateTime(body, 'plannedStart'),
    plannedEnd: check.isoDateTime(body, 'plannedEnd'),
    site: check.str(body, 'site'),
    workCenter: check.str(body, 'workCenter'),
    revision: body.revision === undefined ? 0 : check.num(body, 'revision', '', { min: 0, integer: true }),
    operations,
  };
}

export async function startMesSimulator(options: RestSimulatorOptions = {}): Promise<RunningSimulator> {
  let orders = seedOrders();
  const confirmations = new Counter();
  const consumptions = new Counter();

  const find = (orderId: string): MesOrder => {
    const order = orders.get(orderId);
    if (!order) throw new Fail(404, 'not_found', `order ${orderId} not found`);
    return order;
  };
  const operation = (order: MesOrder, sequence: string): MesOperation => {
    const op = order.operations.find((o) => o.sequence === sequence);
    if (!op) throw new Fail(404, 'not_found', `order ${order.orderId} has no operation ${sequence}`);
    return op;
  };
  const executable = (order: MesOrder) => {
    if (!EXECUTABLE.includes(order.status)) throw new Fail(409, 'invalid_order_status', `order ${order.orderId} is ${order.status}`);
  };

  return startRestSimulator({
    system: 'mes',
    resetData: () => {
      orders = seedOrders();
      confirmations.reset();
      consumptions.reset();
    },
    routes: [
      {
        method: 'GET',
        pattern: /^\/orders\/([^/]+)$/,
        run: ([orderId]) => {
          const order = orders.get(orderId);
          return order ? { status: 200, body: structuredClone(order) } : restError(404, 'not_found', `order ${orderId} not found`);
        },
      },
      {
        method: 'POST',
        pattern: /^\/orders$/,
        run: (body) => {
          const parsed = parseOrder(body);
          if (orders.has(parsed.orderId)) throw new Fail(409, 'order_exists', `order ${parsed.orderId} already exists`);
          orders.set(parsed.orderId, { ...parsed, status: 'RELEASED' });
          return { status: 201, body: { orderId: parsed.orderId, status: 'RELEASED' }, posted: true };
        },
      },
      {
        method: 'PUT',
        pattern: /^\/orders\/([^/]+)$/,
        run: (body, [orderId]) => {
          const order = find(orderId);
          if (body.revision === undefined) throw check.fail('/revision', 'is required on a revision');
          const parsed = parseOrder({ orderId, ...body }, order);
          if (parsed.orderId !== orderId) throw check.fail('/orderId', `must equal the path's ${orderId}`);
          if (order.status === 'COMPLETED' || order.status === 'CANCELLED') throw new Fail(409, 'order_closed', `order ${orderId} is ${order.status}`);
          if (parsed.revision < order.revision) throw new Fail(409, 'stale_revision', `revision ${parsed.revision} is older than ${order.revision}`);
          const status = body.status === undefined ? order.status : check.oneOf(body, 'status', ORDER_STATUSES);
          const revised: MesOrder = { ...parsed, status };
          orders.set(orderId, revised);
          return { status: 200, body: structuredClone(revised), posted: true };
        },
      },
      {
        method: 'POST',
        pattern: /^\/orders\/([^/]+)\/operations\/([^/]+)\/confirmations$/,
        run: (body, [orderId, sequence]) => {
          const order = find(orderId);
          const op = operation(order, sequence);
          const good = check.num(body, 'goodQuantity', '', { min: 0 });
          check.num(body, 'scrapQuantity', '', { min: 0 });
          check.num(body, 'reworkQuantity', '', { min: 0 });
          const unit = check.oneOf(body, 'unit', ['PCE', 'KGM', 'GRM', 'MTR', 'LTR'] as const);
          if (convert(good, unit, op.quantity.unit) === undefined) throw check.fail('/unit', `${unit} does not convert to the operation's ${op.quantity.unit}`);
          const startedAt = check.isoDateTime(body, 'startedAt');
          const finishedAt = check.isoDateTime(body, 'finishedAt');
          if (Date.parse(finishedAt) < Date.parse(startedAt)) throw check.fail('/finishedAt', 'is before startedAt');
          const final = check.bool(body, 'final');
          check.optStr(body, 'reasonCode');
          check.optStr(body, 'operator');
          executable(order);
          op.status = final ? 'COMPLETED' : 'IN_PROGRESS';
          order.status = order.operations.every((o) => o.status === 'COMPLETED') ? 'COMPLETED' : 'IN_PROGRESS';
          return { status: 201, body: { confirmationId: prefixed('MC', confirmations.next()), orderId, sequence }, posted: true };
        },
      },
      {
        method: 'POST',
        pattern: /^\/orders\/([^/]+)\/consumptions$/,
        run: (body, [orderId]) => {
          const order = find(orderId);
          check.str(body, 'material');
          check.optStr(body, 'lot');
          quantity(check, body, 'quantity');
          check.str(body, 'location');
          const sequence = check.optStr(body, 'sequence');
          if (sequence !== undefined) operation(order, sequence);
          executable(order);
          return { status: 201, body: { consumptionId: prefixed('MCN', consumptions.next()) }, posted: true };
        },
      },
    ],
  }, options);
}
