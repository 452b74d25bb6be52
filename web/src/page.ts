/** What every page gets, and the bits every page shares. */
import { h, notice, replace } from './dom.ts';
import { describeError } from './problem.ts';
import type { Route } from './router.ts';

export interface PageContext {
  /** The page's own container (already in the document). */
  view: HTMLElement;
  route: Route;
  /** Aborted when the visitor leaves the page: stop streams, timers and late renders. */
  signal: AbortSignal;
}
export type Page = (ctx: PageContext) => Promise<void>;

/** The page's h1, focusable so the router can move focus to it (screen readers hear the new page). */
export function pageHeading(text: string, extra: Record<string, string> = {}): HTMLHeadingElement {
  document.title = `${text} — Marquee`;
  return h('h1', { tabindex: -1, ...extra }, text);
}

/**
 * Runs an event handler's async work, showing any error in `into` (a notice) instead of
 * losing it: no handler fails silently, and nothing is left half-drawn.
 */
export function handle(into: HTMLElement, work: () => Promise<void>): void {
  work().catch((err: unknown) => {
    replace(into, notice('error', describeError(err)));
  });
}

/** Disables a button while its work runs (no double submits) and says so. */
export async function busy<T>(button: HTMLButtonElement, label: string, work: () => Promise<T>): Promise<T> {
  const before = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = before;
  }
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = window.setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      window.clearTimeout(timer);
      resolve();
    }, { once: true });
  });
