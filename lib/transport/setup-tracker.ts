/**
 * The setup a broker user (Consumer, Publisher) is running on a fresh connection, so that its
 * close() can wait for it instead of racing it (a setup finishing after close would leave a
 * channel or a subscription behind).
 */
export class SetupTracker {
  private current?: Promise<void>;

  /** Runs `setUp` as the current setup; resolves or rejects with it. */
  async run(setUp: () => Promise<void>): Promise<void> {
    const setup = setUp();
    this.current = setup;
    try {
      await setup;
    } finally {
      if (this.current === setup) this.current = undefined;
    }
  }

  /** Resolves once the setup in progress, if any, has ended (however it ended). */
  settled(): Promise<void> {
    return this.current?.catch(() => undefined) ?? Promise.resolve();
  }
}
