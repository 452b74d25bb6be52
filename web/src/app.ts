/**
 * The booking web app at `/`: a header that shows who is signed in, and hash-routed pages
 * (browse, a show's seat map and checkout, sign in/up, my bookings). Plain TypeScript and
 * the DOM; everything goes through the public API with the typed client (api.ts).
 */
import { client, currentUser, onAuthChange, signedIn } from './api.ts';
import { bookingsPage } from './bookings.ts';
import { browsePage } from './browse.ts';
import { signInPage, signUpPage } from './auth.ts';
import { h, notice, replace } from './dom.ts';
import { pageHeading, type Page } from './page.ts';
import { ApiError, describeError } from './problem.ts';
import { currentRoute, go, href, signInFirst, type Route } from './router.ts';
import { showPage } from './show.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function pageFor(route: Route): Page {
  const [first, second, ...rest] = route.path;
  if (first === undefined) return browsePage;
  if (first === 'shows' && second !== undefined && UUID.test(second) && rest.length === 0) return showPage;
  if (first === 'bookings' && second === undefined) return bookingsPage;
  if (first === 'signin' && second === undefined) return signInPage;
  if (first === 'signup' && second === undefined) return signUpPage;
  return notFound;
}

const notFound: Page = ({ view }) => {
  replace(view, pageHeading('Page not found'), h('p', {}, "There's nothing here. ", h('a', { href: href('/') }, "See what's on")));
  return Promise.resolve();
};

const main = document.getElementById('main');
const top = document.getElementById('top');

async function drawHeader(): Promise<void> {
  if (top === null) return;
  const route = currentRoute();
  const link = (to: string, text: string, current: boolean) => h('a', { href: to, 'aria-current': current ? 'page' : null }, text);
  const nav = h(
    'nav',
    { 'aria-label': 'Main' },
    link(href('/'), "What's on", route.path.length === 0 || route.path[0] === 'shows'),
    link(href('/bookings'), 'My bookings', route.path[0] === 'bookings'),
  );
  const account = h('div', { class: 'account' });
  if (signedIn()) {
    const user = await currentUser().catch(() => undefined);
    const signOut = h('button', { type: 'button', class: 'link', id: 'sign-out' }, 'Sign out');
    signOut.addEventListener('click', () => {
      client
        .logout()
        .catch(() => undefined) // signed out here either way; the server forgets the token when it expires
        .finally(() => go(href('/')));
    });
    replace(account, h('span', { class: 'who', id: 'who' }, 'Signed in as ', h('strong', {}, user?.name ?? 'you')), signOut);
  } else {
    const back = route.path[0] === 'signin' || route.path[0] === 'signup' ? (route.query.get('next') ?? undefined) : route.hash;
    replace(account, link(href('/signin', { next: back }), 'Sign in', route.path[0] === 'signin'), h('a', { href: href('/signup', { next: back }), class: 'button primary small' }, 'Sign up'));
  }
  replace(top, h('a', { href: href('/'), class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '▶'), 'Marquee'), nav, account);
}

let leaving: AbortController | undefined;
let first = true;

async function render(): Promise<void> {
  if (main === null) return;
  leaving?.abort();
  const controller = new AbortController();
  leaving = controller;
  const route = currentRoute();
  const view = h('div', { class: 'view' }, h('p', { class: 'muted loading' }, 'Loading…'));
  replace(main, view);
  drawHeader().catch(() => undefined);
  try {
    await pageFor(route)({ view, route, signal: controller.signal });
  } catch (err) {
    if (controller.signal.aborted) return; // left the page meanwhile
    if (err instanceof ApiError && err.problem.status === 401) {
      go(signInFirst(route));
      return;
    }
    const notFoundHere = err instanceof ApiError && err.problem.status === 404;
    replace(
      view,
      pageHeading(notFoundHere ? 'Not found' : 'Something went wrong'),
      notice('error', describeError(err)),
      h('p', {}, h('a', { href: href('/') }, "Back to what's on")),
    );
  }
  if (controller.signal.aborted) return;
  // Focus the new page's heading (not on first load: the visitor starts at the top).
  if (!first) view.querySelector<HTMLElement>('h1')?.focus({ preventScroll: false });
  first = false;
}

window.addEventListener('hashchange', () => void render());
// The skip link moves focus without touching the hash (the hash is the page's route).
document.querySelector('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  main?.focus();
});
onAuthChange(() => void drawHeader().catch(() => undefined));
// Never a blank page: an error nobody caught still shows up.
window.addEventListener('unhandledrejection', (e) => {
  if (main !== null) main.prepend(notice('error', describeError(e.reason)));
});
void render();
