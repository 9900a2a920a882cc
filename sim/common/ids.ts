/** A restartable counter for document numbers; reset() goes back to the seed state. */
export class Counter {
  private n: number;

  constructor(private readonly start = 1) {
    this.n = start;
  }

  next(): number {
    return this.n++;
  }

  reset(): void {
    this.n = this.start;
  }
}

/** Zero-padded decimal, as SAP and most MES number ranges print their documents. */
export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** "MC-000001" style identifiers of the generic REST systems. */
export function prefixed(prefix: string, n: number): string {
  return `${prefix}-${pad(n, 6)}`;
}
