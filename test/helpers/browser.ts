import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserServer } from 'playwright-core';

/** Debian's chromium: the editor test drives the browser the machine has and never downloads one. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why the browser test cannot run here, or undefined when it can. Without chromium it is skipped on a
 * developer machine, but under CI (env CI set) a missing browser is a failure, never a silent skip.
 */
export function browserSkipReason(): string | undefined {
  if (fs.existsSync(CHROMIUM)) return undefined;
  const why = `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the editor test`;
  if (process.env.CI) throw new Error(`${why} (CI is set, so the editor test may not be skipped)`);
  return why;
}

export interface RunningBrowser {
  browser: Browser;
  pid: number | undefined;
  close: () => Promise<void>;
}

/**
 * Launches headless chromium with its own fresh profile and configuration folder (XDG_CONFIG_HOME in
 * a temporary folder), so the machine's user settings never leak in and nothing is left behind.
 * Started as a server so the test holds its PID and can end exactly that process if a close hangs.
 */
export async function launchChromium(timeoutMs = 30000): Promise<RunningBrowser> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'plantsync-chromium-'));
  const server: BrowserServer = await chromium.launchServer({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache') },
    timeout: timeoutMs,
  });
  const pid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint(), { timeout: timeoutMs });
  return {
    browser,
    pid,
    close: async () => {
      const killer = setTimeout(() => {
        if (pid !== undefined) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, 10000);
      try {
        await browser.close().catch(() => undefined);
        await server.close();
      } finally {
        clearTimeout(killer);
        fs.rmSync(home, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Message-catalogue keys that reached the screen untranslated: `label.x`, `plantsync-event.label.x`,
 * `.status.`, `errors.`, `placeholder.`, `tip.` paths, namespaced keys (`module/set:key`) and
 * i18next placeholders left unfilled (`__attempt__`).
 */
const RAW_KEY = /(?:^|[^\w./-])((?:[\w-]+(?:\/[\w-]+)?:)?(?:[\w-]+\.)*(?:label|status|errors|placeholder|tip|tips|tooltip)\.[A-Za-z_][\w-]*(?:\.[\w-]+)*)/g;
const UNFILLED = /__[A-Za-z]\w*__/g;

export function findRawKeys(text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(RAW_KEY)) found.add(m[1]);
  for (const m of text.matchAll(UNFILLED)) found.add(m[0]);
  return [...found];
}

/** The folder for screenshots and other artefacts of the browser test (git-ignored). */
export function browserOutputDir(root: string): string {
  const dir = path.join(root, 'test-output', 'browser');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
